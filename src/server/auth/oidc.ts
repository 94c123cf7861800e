// Verification of OIDC identity tokens (a CI job's JWT, e.g. GitHub Actions') against the issuers
// this server trusts. Keys come from the issuer's discovery document (`jwks_uri`), cached, and
// fetched again when a token names a key id the cache lacks, at most once per cooldown (so junk
// tokens cannot make the server hammer the issuer). Only asymmetric algorithms are accepted, and
// of those only what the issuer says it signs with: never `none`, never HMAC (whose "secret"
// would be the issuer's public key). Every refusal is an OidcError with a reason a client can act
// on; no message ever holds the token.
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  type FetchImplementation,
  type JWTPayload,
  jwtVerify,
  type RemoteJWKSet,
} from "jose";
import { z } from "zod";
import { RequestError } from "../errors.js";
import { issuerUrlProblem } from "./trust-rules.js";

export interface OidcIssuerConfig {
  /** The `iss` of its tokens, exactly (e.g. https://token.actions.githubusercontent.com). */
  issuer: string;
  /** Accepted `aud` values; a token must name at least one. */
  audiences: readonly string[];
}

export interface OidcVerifierOptions {
  /** Allowed clock skew for exp, nbf and iat (default 60 s). */
  clockToleranceSeconds?: number;
  /** Least time between key fetches prompted by an unknown key id, or by a failed fetch (default 30 s). */
  refreshCooldownMs?: number;
  /** Keys are fetched again after this long even when every key id is known (default 10 minutes). */
  jwksMaxAgeMs?: number;
  /** The discovery document is fetched again after this long (default 1 hour). */
  discoveryMaxAgeMs?: number;
  /** Per request to the issuer (default 5 s). */
  timeoutMs?: number;
  /** Refuse tokens issued longer ago than this, whatever their exp (default 1 hour). */
  maxTokenAgeSeconds?: number;
}

/**
 * Default maximum age of an identity token (from its `iat`). CI providers' tokens live minutes
 * (GitHub's and GitLab's: 5); without a bound, one issued with a far `exp` (an `iat` of 1970 and
 * an `exp` a century on) would be exchangeable for as long as it claims.
 */
export const DEFAULT_OIDC_MAX_TOKEN_AGE_SECONDS = 3600;

/** Why a token was refused. */
export type OidcFailure =
  | "malformed"
  | "unknownIssuer"
  | "algNotAllowed"
  | "unknownKey"
  | "badSignature"
  | "expired"
  | "notYetValid"
  | "issuedInFuture"
  | "wrongAudience"
  | "missingClaim"
  /** The issuer's discovery document or keys could not be fetched (503: try again). */
  | "issuerUnavailable"
  /** The token is valid but no trust rule grants it anything (oidc-exchange). */
  | "noMatchingRule"
  /** The identity token was exchanged already: one gives one cache token (409). */
  | "replayed"
  /** Its subject exchanged as many identity tokens as the server allows per minute (429). */
  | "rateLimited";

/**
 * A refused identity token: 401 with the reason, 503 when the issuer could not be reached, 409 for
 * one exchanged before, 429 (with `retryAfterMs`) when its subject exchanges too often.
 */
export class OidcError extends RequestError {
  /** rateLimited: when the subject may exchange again. */
  readonly retryAfterMs?: number;

  constructor(
    readonly reason: OidcFailure,
    message: string,
    opts: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(
      reason === "issuerUnavailable"
        ? "unavailable"
        : reason === "replayed"
          ? "conflict"
          : reason === "rateLimited"
            ? "tooLarge"
            : "unauthorized",
      message,
      { cause: opts.cause, status: reason === "rateLimited" ? 429 : undefined },
    );
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The claims of a verified token; `iss`, `sub`, `aud`, `exp` and `iat` are always there. */
export type OidcClaims = JWTPayload & { iss: string; sub: string; exp: number; iat: number };

/** Algorithms a verifier can ever accept: public-key signatures only. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** Identity tokens are a few KiB; anything much larger is not one. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Discovery documents and key sets are small; this bounds what an issuer can make us read. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

const Discovery = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
});

interface IssuerKeys {
  jwks: RemoteJWKSet;
  /** From the discovery document; undefined when it does not say (then: what the keys declare). */
  advertised: string[] | undefined;
  fetchedAt: number;
}

interface IssuerState {
  config: OidcIssuerConfig;
  keys?: IssuerKeys;
  loading?: Promise<IssuerKeys>;
  failed?: { at: number; error: OidcError };
}

const show = (s: unknown) => JSON.stringify(typeof s === "string" ? s.slice(0, 200) : s);

export class OidcVerifier {
  private readonly issuers = new Map<string, IssuerState>();
  private readonly tolerance: number;
  private readonly cooldownMs: number;
  private readonly jwksMaxAgeMs: number;
  private readonly discoveryMaxAgeMs: number;
  private readonly timeoutMs: number;
  private readonly maxTokenAge: number;

  constructor(issuers: readonly OidcIssuerConfig[], opts: OidcVerifierOptions = {}) {
    for (const c of issuers) {
      const problem = issuerUrlProblem(c.issuer);
      if (problem) throw new TypeError(problem);
      if (c.audiences.length === 0 || c.audiences.some((a) => a === ""))
        throw new TypeError(`issuer ${c.issuer}: name at least one audience, none empty`);
      if (this.issuers.has(c.issuer)) throw new TypeError(`issuer ${c.issuer} is configured twice`);
      this.issuers.set(c.issuer, { config: { issuer: c.issuer, audiences: [...c.audiences] } });
    }
    this.tolerance = opts.clockToleranceSeconds ?? 60;
    this.cooldownMs = opts.refreshCooldownMs ?? 30_000;
    this.jwksMaxAgeMs = opts.jwksMaxAgeMs ?? 10 * 60_000;
    this.discoveryMaxAgeMs = opts.discoveryMaxAgeMs ?? 60 * 60_000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxTokenAge = opts.maxTokenAgeSeconds ?? DEFAULT_OIDC_MAX_TOKEN_AGE_SECONDS;
    if (!(this.maxTokenAge > 0)) throw new TypeError("the maximum identity token age must be positive");
  }

  /**
   * How long after it was issued an identity token can still pass (its maximum age, and the clock
   * skew allowed), in ms: after that, what it was exchanged for need not be remembered.
   */
  acceptedForMs(): number {
    return (this.maxTokenAge + 2 * this.tolerance) * 1000;
  }

  /** The configured issuers. */
  issuerNames(): string[] {
    return [...this.issuers.keys()];
  }

  /** The token's claims once its issuer, signature, algorithm, audience and times check out. */
  async verify(token: string): Promise<OidcClaims> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH)
      throw new OidcError("malformed", "the identity token is not a JWT");
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw new OidcError("malformed", "the identity token is not a JWT");
    }
    if (typeof iss !== "string") throw new OidcError("malformed", "the identity token has no iss claim");
    const state = this.issuers.get(iss);
    if (!state) throw new OidcError("unknownIssuer", `issuer ${show(iss)} is not trusted by this server`);
    // Refused before anything is fetched: no key of any issuer verifies these.
    if (typeof alg !== "string" || !ASYMMETRIC_ALGORITHMS.includes(alg))
      throw new OidcError("algNotAllowed", `signing algorithm ${show(alg)} is not accepted`);

    const keys = await this.keysOf(state);
    const algorithms = await this.algorithmsOf(keys, state.config);
    if (!algorithms.includes(alg))
      throw new OidcError(
        "algNotAllowed",
        `issuer ${iss} signs with ${algorithms.join(", ")}, not ${alg}: signing algorithm not accepted`,
      );
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.jwks, {
        issuer: iss,
        audience: [...state.config.audiences],
        algorithms,
        clockTolerance: this.tolerance,
        requiredClaims: ["exp", "iat", "sub"],
        maxTokenAge: this.maxTokenAge,
      }));
    } catch (e) {
      throw fromJose(e, iss, state.config, this.maxTokenAge);
    }
    const now = Date.now() / 1000;
    const { exp, iat, sub } = payload;
    if (typeof sub !== "string" || sub === "")
      throw new OidcError("malformed", "the sub claim is not a string");
    if (typeof iat !== "number" || typeof exp !== "number")
      throw new OidcError("malformed", "exp and iat must be numbers");
    if (iat > now + this.tolerance)
      throw new OidcError(
        "issuedInFuture",
        `the identity token claims to be issued in the future (iat ${iat})`,
      );
    if (exp <= iat) throw new OidcError("malformed", "the identity token expires before it was issued");
    return payload as OidcClaims;
  }

  /** The issuer's key set, from its discovery document: cached, one fetch at a time. */
  private async keysOf(state: IssuerState): Promise<IssuerKeys> {
    const now = Date.now();
    if (state.keys && now - state.keys.fetchedAt < this.discoveryMaxAgeMs) return state.keys;
    // A failed fetch is not retried for every token that arrives meanwhile.
    if (state.failed && now - state.failed.at < this.cooldownMs) {
      if (state.keys) return state.keys;
      throw state.failed.error;
    }
    state.loading ??= this.discover(state.config).then(
      (keys) => {
        state.keys = keys;
        state.failed = undefined;
        return keys;
      },
      (e: OidcError) => {
        state.failed = { at: Date.now(), error: e };
        throw e;
      },
    );
    try {
      return await state.loading;
    } catch (e) {
      // Stale keys beat none while the issuer is down.
      if (state.keys) return state.keys;
      throw e;
    } finally {
      state.loading = undefined;
    }
  }

  private async discover(c: OidcIssuerConfig): Promise<IssuerKeys> {
    const url = `${c.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    const unavailable = (why: string, cause?: unknown) =>
      new OidcError("issuerUnavailable", `cannot read the discovery document of issuer ${c.issuer}: ${why}`, {
        cause,
      });
    let doc: z.infer<typeof Discovery>;
    try {
      const res = await boundedFetch(this.timeoutMs)(url, {
        method: "GET",
        headers: new Headers({ accept: "application/json" }),
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (res.status !== 200) throw unavailable(`HTTP ${res.status}`);
      const parsed = Discovery.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success) throw unavailable("not an OpenID Connect discovery document");
      doc = parsed.data;
    } catch (e) {
      if (e instanceof OidcError) throw e;
      throw unavailable((e as Error).message, e);
    }
    if (doc.issuer !== c.issuer) throw unavailable(`it names issuer ${show(doc.issuer)}`);
    const problem = issuerUrlProblem(doc.jwks_uri);
    if (problem) throw unavailable(`jwks_uri: ${problem.replace(/^issuer /, "")}`);
    return {
      jwks: createRemoteJWKSet(new URL(doc.jwks_uri), {
        cooldownDuration: this.cooldownMs,
        cacheMaxAge: this.jwksMaxAgeMs,
        timeoutDuration: this.timeoutMs,
        [customFetch]: boundedFetch(this.timeoutMs),
      }),
      advertised: doc.id_token_signing_alg_values_supported,
      fetchedAt: Date.now(),
    };
  }

  /**
   * What this issuer's tokens may be signed with: what its discovery document advertises, else
   * what its keys declare, else RS256 (OpenID Connect's default); always public-key algorithms only.
   */
  private async algorithmsOf(keys: IssuerKeys, c: OidcIssuerConfig): Promise<string[]> {
    if (!keys.advertised && !keys.jwks.jwks())
      await keys.jwks.reload().catch((e: unknown) => {
        throw fromJose(e, c.issuer, c, this.maxTokenAge);
      });
    const declared =
      keys.advertised ??
      (keys.jwks.jwks()?.keys ?? []).map((k) => k.alg).filter((a): a is string => typeof a === "string");
    const allowed = (declared.length > 0 ? declared : ["RS256"]).filter((a) =>
      ASYMMETRIC_ALGORITHMS.includes(a),
    );
    return [...new Set(allowed)];
  }
}

/** fetch whose response body is cut off (an error) past MAX_DOCUMENT_BYTES. */
function boundedFetch(timeoutMs: number): FetchImplementation {
  return async (url, init) => {
    const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > MAX_DOCUMENT_BYTES) throw new Error(`${url} answers ${declared} bytes, more than allowed`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > MAX_DOCUMENT_BYTES) throw new Error(`${url} answers more than ${MAX_DOCUMENT_BYTES} bytes`);
      chunks.push(chunk);
    }
    return new Response(Buffer.concat(chunks), { status: res.status, headers: res.headers });
  };
}

/** `3600` → `1h`, `300` → `5m`, `90` → `90s`: as the setting is written. */
function inUnits(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** A jose refusal as our reason; anything else (a fetch that failed) means the issuer is down. */
function fromJose(e: unknown, iss: string, c: OidcIssuerConfig, maxAgeSeconds: number): OidcError {
  const err = e as { code?: string; claim?: string; reason?: string; message?: string };
  switch (err.code) {
    case "ERR_JWT_EXPIRED":
      return new OidcError(
        "expired",
        err.claim === "iat"
          ? `the identity token was issued too long ago: more than ${inUnits(maxAgeSeconds)} before now (the server's --oidc-max-token-age); get a fresh one`
          : "the identity token has expired",
      );
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (err.reason === "missing")
        return new OidcError("missingClaim", `the identity token has no ${err.claim} claim`);
      if (err.claim === "nbf")
        return new OidcError("notYetValid", "the identity token is not valid yet (nbf)");
      if (err.claim === "aud")
        return new OidcError(
          "wrongAudience",
          `the identity token is not meant for this server: its audience must be ${c.audiences.join(" or ")}`,
        );
      if (err.claim === "iat" && err.reason === "check_failed")
        return new OidcError("issuedInFuture", "the identity token claims to be issued in the future");
      return new OidcError("malformed", `the identity token's ${err.claim} claim is invalid`);
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return new OidcError("unknownKey", `no key of issuer ${iss} matches the token's key id and algorithm`);
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new OidcError("badSignature", "the identity token's signature does not verify");
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return new OidcError("algNotAllowed", "the identity token's signing algorithm is not accepted");
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JOSE_NOT_SUPPORTED":
    case "ERR_JWK_INVALID":
      return new OidcError("malformed", `the identity token is invalid: ${err.message ?? ""}`.trim());
    default:
      return new OidcError(
        "issuerUnavailable",
        `cannot fetch the keys of issuer ${iss}: ${err.message ?? String(e)}`,
        { cause: e },
      );
  }
}
