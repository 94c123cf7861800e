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
  /** Commit statuses, issue comments and pull requests (the checks' routes below). */
  checks: ChecksState;
  close(): Promise<void>;
}

export interface FakeGitHubOptions {
  repo: string;
  /** token → permissions it has, e.g. ["secrets", "variables"]. */
  tokens: Record<string, Permission[]>;
  keyPair?: { publicKey: Uint8Array; privateKey: Uint8Array };
}

/** What a token may do: the repository permissions of GitHub's fine-grained tokens that matter here. */
export type Permission = "secrets" | "variables" | "statuses" | "pull-requests";

const NAME = /^[A-Z_][A-Z0-9_]*$/;

export async function startFakeGitHub(o: FakeGitHubOptions): Promise<FakeGitHub> {
  const keyPair = o.keyPair ?? { publicKey: new Uint8Array(32), privateKey: new Uint8Array(32) };
  const checks = new ChecksState();
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
    const failure = checks.failNext.shift();
    if (failure) {
      res.writeHead(failure.status, {
        "content-type": "application/json; charset=utf-8",
        ...failure.headers,
      });
      return res.end(JSON.stringify({ message: failure.message }));
    }
    if (!perms) return send(401, { message: "Bad credentials", status: "401" });
    const checked = checksRoute(checks, o.repo, perms, req.method ?? "GET", url, chunks);
    if (checked) return send(checked.status, checked.body, checked.headers);
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
        return send(200, { key_id: keyId, key: Buffer.from(keyPair.publicKey).toString("base64") });
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
    publicKey: keyPair.publicKey,
    privateKey: keyPair.privateKey,
    checks,
    keyId,
    secrets,
    variables,
    log,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---------------------------------------------------------------------------------------------
// Commit statuses, pull requests and issue comments (docs.github.com/rest/commits/statuses,
// /rest/commits/commits#list-pull-requests-associated-with-a-commit, /rest/issues/comments):
//   POST  /repos/{o}/{r}/statuses/{sha}                 201 the status; 422 on a bad state or a description over 140
//   GET   /repos/{o}/{r}/commits/{ref}/statuses          200 newest first (per_page, page)
//   GET   /repos/{o}/{r}/commits/{sha}/pulls             200 pull requests whose history has the commit
//   GET   /repos/{o}/{r}/issues/{n}/comments             200 oldest first (per_page, page)
//   POST  /repos/{o}/{r}/issues/{n}/comments             201
//   PATCH /repos/{o}/{r}/issues/comments/{id}            200
// Writing statuses needs "statuses", comments "pull-requests" (403 with X-Accepted-GitHub-Permissions
// otherwise). `failNext` answers the next requests with given failures (a rate limit's 403 with
// retry-after, a 502), whatever they ask.

export interface FakeStatus {
  id: number;
  sha: string;
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
  created_at: string;
}

export interface FakePull {
  number: number;
  state: "open" | "closed";
  head: { sha: string; ref: string; repo: { full_name: string } };
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string };
}

export class ChecksState {
  statuses: FakeStatus[] = [];
  pulls: FakePull[] = [];
  comments: FakeComment[] = [];
  failNext: Array<{ status: number; headers?: Record<string, string>; message: string }> = [];
  private next = 1;
  id(): number {
    return this.next++;
  }
  /** The newest status of each context on a commit. */
  latest(sha: string): Map<string, FakeStatus> {
    const out = new Map<string, FakeStatus>();
    for (const s of this.statuses) if (s.sha === sha) out.set(s.context, s);
    return out;
  }
  /** Status writes so far (POSTs that landed). */
  writes(sha?: string): FakeStatus[] {
    return this.statuses.filter((s) => sha === undefined || s.sha === sha);
  }
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

function page<T>(list: T[], url: URL): T[] {
  const per = Math.min(100, Number(url.searchParams.get("per_page") ?? 30) || 30);
  const n = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
  return list.slice((n - 1) * per, n * per);
}

function pageHeaders(total: number, url: URL): Record<string, string> {
  const per = Math.min(100, Number(url.searchParams.get("per_page") ?? 30) || 30);
  const n = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
  if (n * per >= total) return {};
  const next = new URL(url.toString());
  next.searchParams.set("page", String(n + 1));
  return { link: `<${next.toString()}>; rel="next"` };
}

function checksRoute(
  st: ChecksState,
  repo: string,
  perms: Permission[],
  method: string,
  url: URL,
  chunks: Buffer[],
): Answer | undefined {
  const m =
    /^\/repos\/([^/]+\/[^/]+)\/(statuses\/[^/]+|commits\/[^/]+\/(?:statuses|pulls)|issues\/\d+\/comments|issues\/comments\/\d+)$/.exec(
      url.pathname,
    );
  if (!m) return undefined;
  if (m[1] !== repo) return { status: 404, body: { message: "Not Found" } };
  const rest = m[2] as string;
  const parts = rest.split("/");
  const needs = (p: Permission): Answer | undefined =>
    perms.includes(p)
      ? undefined
      : {
          status: 403,
          body: { message: "Resource not accessible by integration" },
          headers: { "x-accepted-github-permissions": `${p}=write` },
        };
  let body: Record<string, unknown> = {};
  try {
    body = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
      : {};
  } catch {
    return { status: 400, body: { message: "Problems parsing JSON" } };
  }
  const now = new Date().toISOString();
  if (parts[0] === "statuses" && method === "POST") {
    const denied = needs("statuses");
    if (denied) return denied;
    const sha = parts[1] as string;
    if (!/^[0-9a-f]{40}$/.test(sha)) return { status: 422, body: { message: "No commit found for SHA" } };
    if (!["pending", "success", "failure", "error"].includes(String(body.state)))
      return { status: 422, body: { message: "Validation Failed: state" } };
    if (typeof body.description === "string" && body.description.length > 140)
      return {
        status: 422,
        body: { message: "Validation Failed: description is too long (maximum is 140 characters)" },
      };
    const s: FakeStatus = {
      id: st.id(),
      sha,
      state: String(body.state),
      context: typeof body.context === "string" ? body.context : "default",
      description: typeof body.description === "string" ? body.description : null,
      target_url: typeof body.target_url === "string" ? body.target_url : null,
      created_at: now,
    };
    st.statuses.push(s);
    return { status: 201, body: s };
  }
  if (parts[0] === "commits" && parts[2] === "statuses" && method === "GET") {
    const newest = st.statuses.filter((s) => s.sha === parts[1]).reverse();
    return { status: 200, body: page(newest, url), headers: pageHeaders(newest.length, url) };
  }
  if (parts[0] === "commits" && parts[2] === "pulls" && method === "GET") {
    return { status: 200, body: st.pulls.filter((p) => p.head.sha === parts[1]) };
  }
  if (parts[0] === "issues" && parts[2] === "comments") {
    const issue = Number(parts[1]);
    if (!st.pulls.some((p) => p.number === issue)) return { status: 404, body: { message: "Not Found" } };
    if (method === "GET") {
      const list = st.comments.filter((c) => c.issue === issue);
      return { status: 200, body: page(list, url), headers: pageHeaders(list.length, url) };
    }
    if (method === "POST") {
      const denied = needs("pull-requests");
      if (denied) return denied;
      if (typeof body.body !== "string") return { status: 422, body: { message: "Validation Failed: body" } };
      const c: FakeComment = { id: st.id(), issue, body: body.body, user: { login: "github-actions[bot]" } };
      st.comments.push(c);
      return { status: 201, body: c };
    }
  }
  if (parts[0] === "issues" && parts[1] === "comments" && method === "PATCH") {
    const denied = needs("pull-requests");
    if (denied) return denied;
    const c = st.comments.find((x) => x.id === Number(parts[2]));
    if (!c) return { status: 404, body: { message: "Not Found" } };
    if (typeof body.body !== "string") return { status: 422, body: { message: "Validation Failed: body" } };
    c.body = body.body;
    return { status: 200, body: c };
  }
  return { status: 404, body: { message: "Not Found" } };
}
