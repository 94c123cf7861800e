// A local OpenID Connect issuer for tests: discovery document and JWKS over HTTP on 127.0.0.1,
// keys generated with jose, tokens shaped like GitHub Actions' (PROTOCOLS.md §5).
// Keys can be rotated while it runs, and it counts the fetches it answers.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from "jose";

export type IssuerAlg = "RS256" | "ES256";

interface Key {
  kid: string;
  alg: IssuerAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export interface IssuerOptions {
  /** Keys to start with, one per algorithm (default RS256 and ES256). */
  algs?: IssuerAlg[];
  /** `id_token_signing_alg_values_supported`; null leaves it out (default: the keys' algorithms). */
  advertise?: string[] | null;
  /** Whether the JWKS entries carry `alg` (default true). */
  keyAlg?: boolean;
  /** The discovery document's `issuer`, when it should differ from the URL (a misconfigured issuer). */
  claimedIssuer?: string;
}

export interface LocalIssuer {
  /** The issuer URL (`iss` of its tokens), e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Key ids of the published keys, newest last. */
  kids(): string[];
  /** A token signed with the current key of `alg` (or the key `kid`); `claims` over githubClaims(). */
  sign(claims?: Record<string, unknown>, opts?: { alg?: IssuerAlg; kid?: string }): Promise<string>;
  /** Adds a fresh key for `alg` and (unless `keepOld`) withdraws the old ones; returns its kid. */
  rotate(alg?: IssuerAlg, opts?: { keepOld?: boolean }): Promise<string>;
  /** A key pair the issuer never publishes (for "unknown kid" and "foreign key" tokens). */
  foreignKey(
    alg?: IssuerAlg,
  ): Promise<{ kid: string; sign(claims?: Record<string, unknown>): Promise<string> }>;
  /** The SPKI PEM of a published key (the bytes an HS256 confusion attack uses as the secret). */
  publicKeyPem(kid: string): Promise<string>;
  /** GitHub-like claims for this issuer: valid now for five minutes, audience nixcache. */
  claims(overrides?: Record<string, unknown>): Record<string, unknown>;
  fetches: { discovery: number; jwks: number };
  /** Makes both documents answer 503 (true) or normally (false). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

let serial = 0;

async function makeKey(alg: IssuerAlg, withAlg: boolean): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${++serial}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, use: "sig", ...(withAlg ? { alg } : {}) };
  return { kid, alg, privateKey, publicKey, jwk };
}

function signWith(
  key: { kid: string; alg: IssuerAlg; privateKey: CryptoKey },
  claims: Record<string, unknown>,
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .sign(key.privateKey);
}

export async function startOidcIssuer(opts: IssuerOptions = {}): Promise<LocalIssuer> {
  const withAlg = opts.keyAlg ?? true;
  let keys: Key[] = [];
  for (const alg of opts.algs ?? ["RS256", "ES256"]) keys.push(await makeKey(alg, withAlg));
  const fetches = { discovery: 0, jwks: 0 };
  let down = false;
  let url = "";

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (down) return send(503, { error: "down" });
    if (req.url === "/.well-known/openid-configuration") {
      fetches.discovery++;
      const advertise =
        opts.advertise === undefined ? [...new Set(keys.map((k) => k.alg))] : (opts.advertise ?? undefined);
      return send(200, {
        issuer: opts.claimedIssuer ?? url,
        jwks_uri: `${url}/.well-known/jwks`,
        subject_types_supported: ["public", "pairwise"],
        response_types_supported: ["id_token"],
        claims_supported: ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository"],
        ...(advertise ? { id_token_signing_alg_values_supported: advertise } : {}),
        scopes_supported: ["openid"],
      });
    }
    if (req.url === "/.well-known/jwks") {
      fetches.jwks++;
      return send(200, { keys: keys.map((k) => k.jwk) });
    }
    send(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: url,
      aud: "nixcache",
      sub: "repo:example-org/flake:ref:refs/heads/main",
      repository: "example-org/flake",
      repository_owner: "example-org",
      repository_id: "123456",
      repository_owner_id: "654321",
      ref: "refs/heads/main",
      ref_type: "branch",
      event_name: "push",
      workflow_ref: "example-org/flake/.github/workflows/nix-build-cache.yml@refs/heads/main",
      run_id: "1",
      jti: `jti-${++serial}`,
      iat: now,
      nbf: now - 5,
      exp: now + 300,
      ...overrides,
    };
  };

  const current = (alg: IssuerAlg, kid?: string): Key => {
    const k = kid ? keys.find((x) => x.kid === kid) : keys.filter((x) => x.alg === alg).at(-1);
    if (!k) throw new Error(`the issuer has no key ${kid ?? alg}`);
    return k;
  };

  return {
    url,
    kids: () => keys.map((k) => k.kid),
    sign: (c = {}, o = {}) => signWith(current(o.alg ?? "RS256", o.kid), claims(c)),
    async rotate(alg = "RS256", o = {}) {
      const k = await makeKey(alg, withAlg);
      keys = [...(o.keepOld ? keys : keys.filter((x) => x.alg !== alg)), k];
      return k.kid;
    },
    async foreignKey(alg = "RS256") {
      const k = await makeKey(alg, withAlg);
      return { kid: k.kid, sign: (c = {}) => signWith(k, claims(c)) };
    },
    publicKeyPem: (kid) => exportSPKI(current("RS256", kid).publicKey),
    claims,
    fetches,
    setDown(d) {
      down = d;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
