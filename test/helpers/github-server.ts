// A local server implementing GitHub's documented REST contract for Actions repository secrets
// and variables (docs.github.com/rest/actions/secrets, /rest/actions/variables):
//   GET    /repos/{owner}/{repo}/actions/secrets/public-key   200 {key_id, key}
//   PUT    /repos/{owner}/{repo}/actions/secrets/{name}       201 created, 204 updated
//   GET    /repos/{owner}/{repo}/actions/variables/{name}     200 {name, value, created_at, updated_at} | 404
//   POST   /repos/{owner}/{repo}/actions/variables            201 | 409 when it exists
//   PATCH  /repos/{owner}/{repo}/actions/variables/{name}     204
// Unknown repositories answer 404, bad tokens 401 "Bad credentials", tokens without the permission
// 403 "Resource not accessible by personal access token" with `X-Accepted-GitHub-Permissions`.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeGitHub {
  url: string;
  /** The repository's X25519 key pair (the test opens the sealed boxes with it). */
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  keyId: string;
  /** Stored secrets: name → {encrypted_value, key_id}. */
  secrets: Map<string, { encrypted_value: string; key_id: string }>;
  variables: Map<string, string>;
  /** Every request as `METHOD /path`. */
  log: string[];
  close(): Promise<void>;
}

export interface FakeGitHubOptions {
  repo: string;
  /** token → permissions it has, e.g. ["secrets", "variables"]. */
  tokens: Record<string, Array<"secrets" | "variables">>;
  keyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
}

const NAME = /^[A-Z_][A-Z0-9_]*$/;

export async function startFakeGitHub(o: FakeGitHubOptions): Promise<FakeGitHub> {
  const secrets = new Map<string, { encrypted_value: string; key_id: string }>();
  const variables = new Map<string, string>();
  const log: string[] = [];
  const keyId = "568250167242549743";
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://x");
    log.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(text);
    };
    const auth = req.headers.authorization ?? "";
    const token = auth.replace(/^(token|Bearer) /i, "");
    const perms = o.tokens[token];
    if (!perms) return send(401, { message: "Bad credentials", status: "401" });
    const m = /^\/repos\/([^/]+\/[^/]+)\/actions\/(secrets|variables)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m || m[1] !== o.repo) return send(404, { message: "Not Found", status: "404" });
    const kind = m[2] as "secrets" | "variables";
    const name = m[3] ? decodeURIComponent(m[3]) : undefined;
    if (!perms.includes(kind))
      return send(
        403,
        { message: "Resource not accessible by personal access token", status: "403" },
        { "x-accepted-github-permissions": `${kind}=${req.method === "GET" ? "read" : "write"}` },
      );
    const body = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
      : {};
    if (kind === "secrets") {
      if (req.method === "GET" && name === "public-key")
        return send(200, { key_id: keyId, key: Buffer.from(o.keyPair.publicKey).toString("base64") });
      if (req.method === "PUT" && name) {
        if (!NAME.test(name.toUpperCase())) return send(422, { message: "Invalid name" });
        if (body.key_id !== keyId || typeof body.encrypted_value !== "string")
          return send(422, { message: "Invalid request: key_id and encrypted_value are required" });
        const existed = secrets.has(name.toUpperCase());
        secrets.set(name.toUpperCase(), { encrypted_value: body.encrypted_value, key_id: body.key_id });
        return existed ? send(204) : send(201, {});
      }
      return send(404, { message: "Not Found" });
    }
    const now = new Date().toISOString();
    if (req.method === "GET" && name) {
      const v = variables.get(name.toUpperCase());
      if (v === undefined) return send(404, { message: "Not Found", status: "404" });
      return send(200, { name: name.toUpperCase(), value: v, created_at: now, updated_at: now });
    }
    if (req.method === "POST" && !name) {
      const n = String(body.name ?? "").toUpperCase();
      if (!NAME.test(n) || typeof body.value !== "string") return send(422, { message: "Invalid request" });
      if (variables.has(n)) return send(409, { message: "Already exists" });
      variables.set(n, body.value);
      return send(201, {});
    }
    if (req.method === "PATCH" && name) {
      if (!variables.has(name.toUpperCase())) return send(404, { message: "Not Found" });
      if (typeof body.value !== "string") return send(422, { message: "Invalid request" });
      variables.set(name.toUpperCase(), body.value);
      return send(204);
    }
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    publicKey: o.keyPair.publicKey,
    privateKey: o.keyPair.privateKey,
    keyId,
    secrets,
    variables,
    log,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
