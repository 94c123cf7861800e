// The HTTP retry classification and backoff (src/http/), against a real local HTTP server.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createPool } from "../../../src/http/pool.js";
import { request } from "../../../src/http/request.js";
import {
  isRetryableStatus,
  parseRetryAfter,
  RetryableError,
  type RetryPolicy,
  withRetry,
} from "../../../src/http/retry.js";

describe("withRetry", () => {
  test("retries a RetryableError until it succeeds, with full-jitter waits under the doubling ceiling", async () => {
    const waits: number[] = [];
    const policy: RetryPolicy = {
      attempts: 5,
      baseMs: 4,
      capMs: 10,
      onRetry: (_e, _n, ms) => waits.push(ms),
    };
    const got = await withRetry(async (attempt) => {
      if (attempt < 5) throw new RetryableError(`try ${attempt}`);
      return attempt;
    }, policy);
    assert.equal(got, 5);
    assert.equal(waits.length, 4);
    const ceilings = [4, 8, 10, 10];
    for (const [i, w] of waits.entries())
      assert.ok(w >= 0 && w <= (ceilings[i] as number), `wait ${i}: ${w}`);
  });

  test("gives up after `attempts` with the last error; other errors are not retried", async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new RetryableError(`attempt ${calls}`);
        },
        { attempts: 3, baseMs: 1 },
      ),
      /attempt 3/,
    );
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new Error("final");
        },
        { attempts: 3, baseMs: 1 },
      ),
      /final/,
    );
    assert.equal(calls, 1);
  });

  test("waits what Retry-After says, capped by maxRetryAfterMs", async () => {
    const waits: number[] = [];
    await withRetry(
      async (attempt) => {
        if (attempt === 1) throw new RetryableError("slow down", 3000);
        return "ok";
      },
      { maxRetryAfterMs: 5, onRetry: (_e, _n, ms) => waits.push(ms) },
    );
    assert.deepEqual(waits, [5]);
  });

  test("an abort during a wait ends it with the signal's reason", async () => {
    const ac = new AbortController();
    const run = withRetry(
      async () => {
        throw new RetryableError("down");
      },
      { baseMs: 60_000, capMs: 60_000, onRetry: () => queueMicrotask(() => ac.abort(new Error("stop"))) },
      ac.signal,
    );
    await assert.rejects(run, /stop|aborted/);
  });

  test("parseRetryAfter: delay-seconds, an HTTP date, or nothing", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("7", now), 7000);
    assert.equal(parseRetryAfter(["2"], now), 2000);
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now), 10_000);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  test("isRetryableStatus: 408, 429 and 5xx only", () => {
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [200, 400, 401, 403, 404, 409, 413]) assert.equal(isRetryableStatus(s), false, String(s));
  });
});

describe("request: one classification for every client", () => {
  let server: Server;
  let origin: string;
  /** Per path: the statuses to answer, in turn (the last repeats). */
  const script = new Map<string, Array<{ status: number; headers?: Record<string, string> }>>();
  const hits = new Map<string, number>();

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "";
      const n = hits.get(path) ?? 0;
      hits.set(path, n + 1);
      const steps = script.get(path) ?? [{ status: 404 }];
      const step = steps[Math.min(n, steps.length - 1)] as {
        status: number;
        headers?: Record<string, string>;
      };
      res.writeHead(step.status, step.headers);
      res.end(`answer ${n + 1} to ${path}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const refused = (status: number, body: Buffer, what: string) =>
    Object.assign(new Error(`${what}: refused ${status}: ${body}`), { status });

  test("5xx is retried until an answer; the answer's body comes back", async () => {
    script.set("/flaky", [{ status: 503 }, { status: 500 }, { status: 200 }]);
    const pool = createPool(origin);
    try {
      const r = await request(
        pool,
        { method: "GET", path: "/flaky", what: "GET /flaky", refused },
        { baseMs: 1 },
      );
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "answer 3 to /flaky");
      assert.equal(hits.get("/flaky"), 3);
    } finally {
      await pool.close();
    }
  });

  test("a 4xx is final: the caller's error, one request", async () => {
    script.set("/gone", [{ status: 403 }]);
    const pool = createPool(origin);
    try {
      await assert.rejects(
        request(pool, { method: "GET", path: "/gone", what: "GET /gone", refused }, { baseMs: 1 }),
        /GET \/gone: refused 403: answer 1 to \/gone/,
      );
      assert.equal(hits.get("/gone"), 1);
    } finally {
      await pool.close();
    }
  });

  test("statuses listed as ok are answers, not errors", async () => {
    script.set("/missing", [{ status: 404 }]);
    const pool = createPool(origin);
    try {
      const r = await request(pool, {
        method: "HEAD",
        path: "/missing",
        what: "HEAD",
        ok: [200, 404],
        refused,
      });
      assert.equal(r.status, 404);
    } finally {
      await pool.close();
    }
  });

  test("429 carries the server's Retry-After to the backoff", async () => {
    script.set("/busy", [{ status: 429, headers: { "retry-after": "3" } }, { status: 204 }]);
    const pool = createPool(origin);
    const seen: Array<number | undefined> = [];
    try {
      const r = await request(
        pool,
        { method: "GET", path: "/busy", what: "GET /busy", refused },
        { maxRetryAfterMs: 1, onRetry: (e) => seen.push(e.retryAfterMs) },
      );
      assert.equal(r.status, 204);
      assert.deepEqual(seen, [3000]);
    } finally {
      await pool.close();
    }
  });

  test("a refused connection is retryable, and named", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const pool = createPool(`http://127.0.0.1:${port}`);
    const errors: RetryableError[] = [];
    try {
      await assert.rejects(
        request(
          pool,
          { method: "GET", path: "/", what: `GET 127.0.0.1:${port}`, refused },
          { attempts: 2, baseMs: 1, onRetry: (e) => errors.push(e) },
        ),
        (e: unknown) => e instanceof RetryableError && /ECONNREFUSED/.test(e.message),
      );
      assert.equal(errors.length, 1);
    } finally {
      await pool.close();
    }
  });
});
