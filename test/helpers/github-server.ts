// A local server implementing GitHub's documented REST contract for what nixcache calls. Each
// resource is a section below; every request first passes the common checks (the token, then any
// injected fault). Unknown repositories and routes answer 404, bad tokens 401 "Bad credentials",
// tokens without the permission 403 "Resource not accessible by personal access token" with
// `X-Accepted-GitHub-Permissions: <permission>=<read|write>` (docs.github.com/rest/overview/
// troubleshooting-the-rest-api).
//
// Actions repository secrets and variables (docs.github.com/rest/actions/secrets, /rest/actions/variables),
// permissions "secrets" and "variables":
//   GET    /repos/{owner}/{repo}/actions/secrets/public-key   200 {key_id, key}
//   PUT    /repos/{owner}/{repo}/actions/secrets/{name}       201 created, 204 updated
//   GET    /repos/{owner}/{repo}/actions/variables/{name}     200 {name, value, created_at, updated_at} | 404
//   POST   /repos/{owner}/{repo}/actions/variables            201 | 409 when it exists
//   PATCH  /repos/{owner}/{repo}/actions/variables/{name}     204
//
// Branch protection: required status check contexts (docs.github.com/rest/branches/branch-protection),
// permission "administration" (read for GET, write otherwise). The body is a JSON array of
// contexts or `{"contexts": [...]}`; every answer is the branch's contexts after the call:
//   GET    /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks/contexts  200 [...]
//   POST   …/contexts  "Add status check contexts": appends those not there yet           200 [...]
//   PUT    …/contexts  "Set status check contexts": replaces the list                      200 [...]
//   DELETE …/contexts  "Remove status check contexts": removes those given                 200 [...]
// A branch without protection answers 404 "Branch not protected", a protected branch without
// required status checks 404 "Required status checks not enabled", an unknown branch 404 "Branch
// not found"; an empty or malformed list 422 "Validation Failed".
//
// Commit statuses, pull requests and issue comments (docs.github.com/rest/commits/statuses,
// /rest/commits/commits#list-pull-requests-associated-with-a-commit, /rest/issues/comments),
// permissions "statuses" and "pull_requests" (comments on pull requests):
//   POST  /repos/{o}/{r}/statuses/{sha}                 201; 422 on a bad state or a description over 140
//   GET   /repos/{o}/{r}/commits/{ref}/statuses          200 newest first (per_page, page, Link)
//   GET   /repos/{o}/{r}/commits/{sha}/pulls             200 the pull requests whose head is the commit
//   GET   /repos/{o}/{r}/issues/{n}/comments             200 oldest first (per_page, page, Link)
//   POST  /repos/{o}/{r}/issues/{n}/comments             201
//   PATCH /repos/{o}/{r}/issues/comments/{id}            200
//
// Faults (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api): `rateLimitOnce()`
// makes the next matching request answer 403 "API rate limit exceeded" with `retry-after`,
// `x-ratelimit-remaining: 0` and `x-ratelimit-reset`; `serverErrorOnce()` a 5xx. Neither changes
// anything: the request that meets one is not performed.
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A permission of a token, by the name GitHub's `X-Accepted-GitHub-Permissions` uses ("secrets",
 * "variables", "administration", "statuses", "pull_requests", …): the name alone grants read and
 * write, `NAME:read` reading only.
 */
export type TokenPermission = string;

/** A branch's classic protection, as the fake holds it (tests read and change it). */
export interface FakeBranch {
  protected: boolean;
  /** The required status check contexts; null: protected without required status checks. */
  contexts: string[] | null;
}

export interface FakeGitHub {
  url: string;
  /** The repository's X25519 key pair (the test opens the sealed boxes with it). */
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  keyId: string;
  /** Stored secrets: name → {encrypted_value, key_id}. */
  secrets: Map<string, { encrypted_value: string; key_id: string }>;
  variables: Map<string, string>;
  /** The repository's branches by name. */
  branches: Map<string, FakeBranch>;
  /** Every request as `METHOD /path` (faults included). */
  log: string[];
  /** Commit statuses, pull requests and issue comments (tests read and seed them). */
  checks: ChecksState;
  /** The next request that matches answers 403 over the rate limit, asking to wait `retryAfter` s. */
  rateLimitOnce(o?: FaultMatch & { retryAfter?: number }): void;
  /** The next request that matches answers `status` (default 502). */
  serverErrorOnce(o?: FaultMatch & { status?: number }): void;
  close(): Promise<void>;
}

/** Which request a fault is for: any, unless a method or a path pattern is given. */
export interface FaultMatch {
  method?: string;
  path?: RegExp;
}

export interface FakeGitHubOptions {
  repo: string;
  /** token → the permissions it has, e.g. ["secrets", "variables", "administration:read"]. */
  tokens: Record<string, readonly TokenPermission[]>;
  /** The repository's Actions secrets key pair (default: zeros, for tests that seal nothing). */
  keyPair?: { publicKey: Uint8Array; privateKey: Uint8Array };
  /** The repository's branches (default: main, unprotected). */
  branches?: Record<string, { protected?: boolean; contexts?: string[] | null }>;
}

/** What a route handler gets: the parsed request and the means to answer it. */
interface Call {
  method: string;
  path: string;
  /** The path with its query. */
  url: string;
  body: unknown;
  /** The token's permissions. */
  perms: readonly TokenPermission[];
  send(status: number, body?: unknown, headers?: Record<string, string>): void;
  /** False after answering 403 when the token lacks `permission` at `access`. */
  allowed(permission: string, access: "read" | "write"): boolean;
}

/** A section's routes: true when it answered. */
type Routes = (c: Call) => boolean;

const NAME = /^[A-Z_][A-Z0-9_]*$/;

function has(perms: readonly TokenPermission[], permission: string, access: "read" | "write"): boolean {
  return perms.includes(permission) || (access === "read" && perms.includes(`${permission}:read`));
}

export async function startFakeGitHub(o: FakeGitHubOptions): Promise<FakeGitHub> {
  const keyPair = o.keyPair ?? { publicKey: new Uint8Array(32), privateKey: new Uint8Array(32) };
  const checks = new ChecksState();
  const secrets = new Map<string, { encrypted_value: string; key_id: string }>();
  const variables = new Map<string, string>();
  const branches = new Map<string, FakeBranch>(
    Object.entries(o.branches ?? { main: {} }).map(([name, b]) => [
      name,
      {
        protected: b.protected ?? false,
        contexts: b.contexts === undefined ? (b.protected ? [] : null) : b.contexts,
      },
    ]),
  );
  const log: string[] = [];
  const keyId = "568250167242549743";
  const faults: Array<FaultMatch & { answer: (c: Call) => void }> = [];
  const repoPrefix = `/repos/${o.repo}/`;

  // ---- Actions secrets and variables ------------------------------------------------------------
  const actions: Routes = (c) => {
    const m = /^\/repos\/([^/]+\/[^/]+)\/actions\/(secrets|variables)(?:\/([^/]+))?$/.exec(c.path);
    if (!m || m[1] !== o.repo) return false;
    const kind = m[2] as "secrets" | "variables";
    const name = m[3] ? decodeURIComponent(m[3]) : undefined;
    if (!c.allowed(kind, c.method === "GET" ? "read" : "write")) return true;
    const body = (c.body ?? {}) as Record<string, unknown>;
    if (kind === "secrets") {
      if (c.method === "GET" && name === "public-key")
        c.send(200, { key_id: keyId, key: Buffer.from(keyPair.publicKey).toString("base64") });
      else if (c.method === "PUT" && name) {
        if (!NAME.test(name.toUpperCase())) c.send(422, { message: "Invalid name" });
        else if (body.key_id !== keyId || typeof body.encrypted_value !== "string")
          c.send(422, { message: "Invalid request: key_id and encrypted_value are required" });
        else {
          const existed = secrets.has(name.toUpperCase());
          secrets.set(name.toUpperCase(), { encrypted_value: body.encrypted_value, key_id: body.key_id });
          if (existed) c.send(204);
          else c.send(201, {});
        }
      } else c.send(404, { message: "Not Found" });
      return true;
    }
    const now = new Date().toISOString();
    if (c.method === "GET" && name) {
      const v = variables.get(name.toUpperCase());
      if (v === undefined) c.send(404, { message: "Not Found", status: "404" });
      else c.send(200, { name: name.toUpperCase(), value: v, created_at: now, updated_at: now });
    } else if (c.method === "POST" && !name) {
      const n = String(body.name ?? "").toUpperCase();
      if (!NAME.test(n) || typeof body.value !== "string") c.send(422, { message: "Invalid request" });
      else if (variables.has(n)) c.send(409, { message: "Already exists" });
      else {
        variables.set(n, body.value);
        c.send(201, {});
      }
    } else if (c.method === "PATCH" && name) {
      if (!variables.has(name.toUpperCase())) c.send(404, { message: "Not Found" });
      else if (typeof body.value !== "string") c.send(422, { message: "Invalid request" });
      else {
        variables.set(name.toUpperCase(), body.value);
        c.send(204);
      }
    } else c.send(404, { message: "Not Found" });
    return true;
  };

  // ---- Branch protection: required status check contexts ----------------------------------------
  const docs = "https://docs.github.com/rest/branches/branch-protection";
  const branchProtection: Routes = (c) => {
    if (!c.path.startsWith(repoPrefix)) return false;
    const m = /^branches\/([^/]+)\/protection\/required_status_checks\/contexts$/.exec(
      c.path.slice(repoPrefix.length),
    );
    if (!m?.[1]) return false;
    if (!["GET", "POST", "PUT", "DELETE"].includes(c.method)) {
      c.send(404, { message: "Not Found", documentation_url: docs });
      return true;
    }
    if (!c.allowed("administration", c.method === "GET" ? "read" : "write")) return true;
    const branch = branches.get(decodeURIComponent(m[1]));
    if (!branch) c.send(404, { message: "Branch not found", documentation_url: docs, status: "404" });
    else if (!branch.protected)
      c.send(404, { message: "Branch not protected", documentation_url: docs, status: "404" });
    else if (branch.contexts === null)
      c.send(404, { message: "Required status checks not enabled", documentation_url: docs, status: "404" });
    else if (c.method === "GET") c.send(200, branch.contexts);
    else {
      const given = Array.isArray(c.body) ? c.body : (c.body as { contexts?: unknown } | null)?.contexts;
      if (
        !Array.isArray(given) ||
        given.length === 0 ||
        !given.every((x) => typeof x === "string" && x !== "")
      )
        c.send(422, {
          message: "Validation Failed",
          errors: [{ resource: "ProtectedBranch", field: "contexts", code: "invalid" }],
          documentation_url: docs,
          status: "422",
        });
      else {
        const list = given as string[];
        if (c.method === "POST")
          branch.contexts.push(
            ...list.filter((x, i) => !branch.contexts?.includes(x) && list.indexOf(x) === i),
          );
        else if (c.method === "PUT") branch.contexts = [...new Set(list)];
        else branch.contexts = branch.contexts.filter((x) => !list.includes(x));
        c.send(200, branch.contexts);
      }
    }
    return true;
  };

  // ---- Commit statuses, pull requests, issue comments --------------------------------------------
  const statusesAndComments: Routes = (c) => {
    if (!c.path.startsWith(repoPrefix)) return false;
    const rest = c.path.slice(repoPrefix.length);
    const url = new URL(c.url, "http://x");
    const body = (c.body ?? {}) as Record<string, unknown>;
    let m = /^statuses\/([^/]+)$/.exec(rest);
    if (m && c.method === "POST") {
      if (!c.allowed("statuses", "write")) return true;
      const sha = m[1] as string;
      if (!/^[0-9a-f]{40}$/.test(sha)) c.send(422, { message: "No commit found for SHA" });
      else if (!["pending", "success", "failure", "error"].includes(String(body.state)))
        c.send(422, { message: "Validation Failed: state" });
      else if (typeof body.description === "string" && body.description.length > 140)
        c.send(422, { message: "Validation Failed: description is too long (maximum is 140 characters)" });
      else c.send(201, checks.addStatus(sha, body));
      return true;
    }
    m = /^commits\/([^/]+)\/(statuses|pulls)$/.exec(rest);
    if (m && c.method === "GET") {
      if (m[2] === "statuses") {
        if (!c.allowed("statuses", "read")) return true;
        const newest = checks.statuses.filter((s) => s.sha === m?.[1]).reverse();
        c.send(200, page(newest, url), pageHeaders(newest.length, url));
      } else if (c.allowed("pull_requests", "read"))
        c.send(
          200,
          checks.pulls.filter((p) => p.head.sha === m?.[1]),
        );
      return true;
    }
    m = /^issues\/(\d+)\/comments$/.exec(rest);
    if (m && (c.method === "GET" || c.method === "POST")) {
      const issue = Number(m[1]);
      if (!c.allowed("pull_requests", c.method === "GET" ? "read" : "write")) return true;
      if (!checks.pulls.some((p) => p.number === issue)) c.send(404, { message: "Not Found" });
      else if (c.method === "GET") {
        const list = checks.comments.filter((x) => x.issue === issue);
        c.send(200, page(list, url), pageHeaders(list.length, url));
      } else if (typeof body.body !== "string") c.send(422, { message: "Validation Failed: body" });
      else c.send(201, checks.addComment(issue, body.body));
      return true;
    }
    m = /^issues\/comments\/(\d+)$/.exec(rest);
    if (m && c.method === "PATCH") {
      if (!c.allowed("pull_requests", "write")) return true;
      const found = checks.comments.find((x) => x.id === Number(m?.[1]));
      if (!found) c.send(404, { message: "Not Found" });
      else if (typeof body.body !== "string") c.send(422, { message: "Validation Failed: body" });
      else {
        found.body = body.body;
        c.send(200, found);
      }
      return true;
    }
    return false;
  };

  const sections: Routes[] = [actions, branchProtection, statusesAndComments];

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const url = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "GET";
    log.push(`${method} ${url.pathname}`);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(text);
    };
    const auth = req.headers.authorization ?? "";
    const token = auth.replace(/^(token|Bearer) /i, "");
    const perms = o.tokens[token];
    if (!perms) return send(401, { message: "Bad credentials", status: "401" });
    let body: unknown;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
    } catch {
      return send(400, { message: "Problems parsing JSON" });
    }
    const call: Call = {
      method,
      path: url.pathname,
      url: req.url ?? "/",
      body,
      perms,
      send,
      allowed(permission, access) {
        if (has(perms, permission, access)) return true;
        send(
          403,
          { message: "Resource not accessible by personal access token", status: "403" },
          { "x-accepted-github-permissions": `${permission}=${access}` },
        );
        return false;
      },
    };
    const fault = faults.findIndex(
      (f) =>
        (f.method === undefined || f.method === method) &&
        (f.path === undefined || f.path.test(url.pathname)),
    );
    if (fault >= 0) {
      const [f] = faults.splice(fault, 1);
      f?.answer(call);
      return;
    }
    for (const routes of sections) if (routes(call)) return;
    return send(404, { message: "Not Found", status: "404" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    publicKey: keyPair.publicKey,
    privateKey: keyPair.privateKey,
    keyId,
    secrets,
    variables,
    branches,
    log,
    checks,
    rateLimitOnce({ retryAfter = 1, ...match } = {}) {
      faults.push({
        ...match,
        answer: (c) =>
          c.send(
            403,
            {
              message: "API rate limit exceeded for user ID 1.",
              documentation_url:
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
              status: "403",
            },
            {
              "retry-after": String(retryAfter),
              "x-ratelimit-limit": "5000",
              "x-ratelimit-remaining": "0",
              "x-ratelimit-used": "5000",
              "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + retryAfter),
              "x-ratelimit-resource": "core",
            },
          ),
      });
    },
    serverErrorOnce({ status = 502, ...match } = {}) {
      faults.push({
        ...match,
        answer: (c) => c.send(status, { message: status === 502 ? "Server Error" : "Service Unavailable" }),
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---- The state of commit statuses, pull requests and comments ------------------------------------

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
  private next = 1;

  addStatus(sha: string, body: Record<string, unknown>): FakeStatus {
    const s: FakeStatus = {
      id: this.next++,
      sha,
      state: String(body.state),
      context: typeof body.context === "string" ? body.context : "default",
      description: typeof body.description === "string" ? body.description : null,
      target_url: typeof body.target_url === "string" ? body.target_url : null,
      created_at: new Date().toISOString(),
    };
    this.statuses.push(s);
    return s;
  }

  addComment(issue: number, body: string): FakeComment {
    const c: FakeComment = { id: this.next++, issue, body, user: { login: "github-actions[bot]" } };
    this.comments.push(c);
    return c;
  }

  /** The newest status of each context on a commit. */
  latest(sha: string): Map<string, FakeStatus> {
    const out = new Map<string, FakeStatus>();
    for (const s of this.statuses) if (s.sha === sha) out.set(s.context, s);
    return out;
  }

  /** The status writes that landed, oldest first. */
  writes(sha?: string): FakeStatus[] {
    return this.statuses.filter((s) => sha === undefined || s.sha === sha);
  }
}

function perPage(url: URL): { per: number; n: number } {
  return {
    per: Math.min(100, Number(url.searchParams.get("per_page") ?? 30) || 30),
    n: Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1),
  };
}

function page<T>(list: T[], url: URL): T[] {
  const { per, n } = perPage(url);
  return list.slice((n - 1) * per, n * per);
}

/** GitHub's `Link: <…>; rel="next"` while more pages follow. */
function pageHeaders(total: number, url: URL): Record<string, string> {
  const { per, n } = perPage(url);
  if (n * per >= total) return {};
  const next = new URL(url.toString());
  next.searchParams.set("page", String(n + 1));
  return { link: `<${next.toString()}>; rel="next"` };
}
