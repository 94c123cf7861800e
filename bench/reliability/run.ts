// The server's hardening (issue 30) replayed end to end against a real `nixcache serve` (the built
// CLI: `npm run build` first), each item next to the figure the issue reported:
//
//   node --import tsx bench/reliability/run.ts [--only 3,6,8]
//
// One function per item (SECTIONS; items 1, 2, 5 and 15 live in item-N.ts and also run alone). Each returns rows for
// the table: what was measured, the issue's figure, and what this build does. Prints the table
// and writes bench/reliability/RESULTS.md. Item 8 mounts small tmpfs file systems, so it needs
// root (it says "skipped" otherwise). About three minutes on a loaded 2-core machine.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { formatNarInfo, type NarInfo, signNarInfo } from "../../src/nix/narinfo.js";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../../src/nix/signing.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import type { StateLocation } from "../../src/server/state-location.js";
import { makeUpload, type Upload } from "../../test/helpers/uploads.js";
import { item1 } from "./item-1.js";
import { item2 } from "./item-2.js";
import { item5 } from "./item-5.js";
import { item15 } from "./item-15.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(root, "bin/nixcache");
if (!existsSync(join(root, "dist/cli/main.js"))) {
  console.error("bench/reliability runs the built CLI: run `npm run build` first");
  process.exit(2);
}
const only = (() => {
  const i = process.argv.indexOf("--only");
  return i < 0 ? undefined : new Set((process.argv[i + 1] ?? "").split(","));
})();
const work = mkdtempSync(join(tmpdir(), "nixcache-bench-reliability-"));
const cleanups: Array<() => void> = [];
process.on("exit", () => {
  for (const c of cleanups.reverse())
    try {
      c();
    } catch {}
  rmSync(work, { recursive: true, force: true });
});

interface Row {
  item: string;
  what: string;
  /** The figure the issue reported. */
  before: string;
  now: string;
}

// --- helpers ---

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `nixcache serve … --listen 127.0.0.1:0`, under `prlimit` when an open-file limit is given. */
async function serve(args: string[], o: { fdLimit?: number } = {}): Promise<Served> {
  const cmd = [process.execPath, BIN, "serve", "--listen", "127.0.0.1:0", ...args];
  const child = o.fdLimit
    ? spawn("prlimit", [`--nofile=${o.fdLimit}:${o.fdLimit}`, "--", ...cmd], {
        stdio: ["ignore", "pipe", "pipe"],
      })
    : spawn(cmd[0] as string, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then((c) => reject(new Error(`serve exited ${c} before listening: ${err}`)));
  });
  return { child, url, stderr: () => err, exited };
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]) * 1024;
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await cond()) return true;
    await sleep(100);
  }
  return cond();
}

/** A store path hash: 32 characters of Nix's base-32 alphabet (any such string is one). */
function storeHash(): string {
  const alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
  return Array.from(randomBytes(32), (b) => alphabet[b & 31]).join("");
}

async function put(url: string, token: string, body: Buffer | string): Promise<Response> {
  return fetch(url, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}` },
  });
}

/** A cache `main` and a write token for it at `at`. */
async function cacheAt(at: string | StateLocation) {
  const key = (await adminCreateCache(at, { name: "main", isPublic: true, priority: 40 })).publicKey;
  const { token } = await adminCreateToken(at, { cache: "main", perm: "write", expiresAt: null });
  return { key, token };
}

/** Pushes `u`'s NAR and its narinfo; the statuses. */
async function push(url: string, token: string, u: Upload, ni: NarInfo = u.narinfo): Promise<number[]> {
  const nar = await put(`${url}/main/${u.url}`, token, u.file);
  await nar.arrayBuffer();
  if (nar.status !== 204) return [nar.status];
  const info = await put(`${url}/main/${u.hash}.narinfo`, token, formatNarInfo(ni));
  await info.arrayBuffer();
  return [nar.status, info.status];
}

// --- item 3: SIGTERM with upstream lookups queued ---

async function item3(): Promise<Row[]> {
  const NARINFOS = 1000;
  const REFS = 200;
  const UPSTREAM_MS = 20_000;
  // An upstream that takes 20 s to say it lacks a path, and serves one signed path at once.
  const key = generateSecretKey("bench-upstream-1");
  const lib = await makeUpload("bench-lib", "none");
  const libNarinfo = formatNarInfo(signNarInfo(lib.narinfo, key));
  let asked = 0;
  const upstream = createServer((req, res) => {
    asked++;
    if (req.url === `/up/${lib.hash}.narinfo`) return res.end(libNarinfo);
    setTimeout(() => {
      if (!res.destroyed) res.writeHead(404).end();
    }, UPSTREAM_MS).unref();
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  cleanups.push(() => upstream.closeAllConnections());
  const upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/up`;

  const data = join(work, "item3");
  const { token } = await cacheAt(data);
  const s = await serve([
    "--data",
    data,
    "--quiet",
    "--upstream",
    upUrl,
    "--upstream-key",
    formatPublicKey(publicKeyOf(key)),
  ]);
  const pid = s.child.pid as number;
  // One NAR named by every narinfo of the flood (content-addressed: stored once).
  const nar = await makeUpload("bench-flood", "none");
  const statuses = await push(s.url, token, nar);
  if (statuses.some((c) => c !== 204)) throw new Error(`item 3: push ${statuses}`);
  await sleep(1000);
  const rssBefore = status(pid, "VmRSS");

  // The flood in two halves: memory a bounded queue holds stops growing in the second.
  const flood = async (from: number, to: number) => {
    let next = from;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < to; i = next++) {
          const hash = storeHash();
          const ni: NarInfo = {
            ...nar.narinfo,
            storePath: `/nix/store/${hash}-flood-${i}`,
            references: Array.from({ length: REFS }, (_, j) => `${storeHash()}-missing-${j}`),
          };
          const r = await put(`${s.url}/main/${hash}.narinfo`, token, formatNarInfo(ni));
          if (r.status !== 204) throw new Error(`item 3: narinfo ${r.status}: ${await r.text()}`);
        }
      }),
    );
    await sleep(2000);
    return status(pid, "VmRSS");
  };
  const t0 = performance.now();
  const rssHalf = await flood(0, NARINFOS / 2);
  const rssAfter = await flood(NARINFOS / 2, NARINFOS);
  const floodMs = performance.now() - t0;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const perRef = (b: number) => `${Math.round(Math.max(0, b) / ((NARINFOS / 2) * REFS))} B`;

  // An honest narinfo after the flood: its one reference is one the upstream serves at once.
  const app = await makeUpload("bench-app", "none");
  app.narinfo.references = [lib.storePath.slice("/nix/store/".length)];
  const t1 = performance.now();
  await push(s.url, token, app);
  const visible = await waitFor(
    async () => (await fetch(`${s.url}/main/${app.hash}.narinfo`)).status === 200,
    3 * UPSTREAM_MS,
  );
  const honestMs = performance.now() - t1;

  const askedBeforeTerm = asked;
  const t2 = performance.now();
  s.child.kill("SIGTERM");
  const code = await Promise.race([s.exited, sleep(90_000).then(() => "alive")]);
  const termMs = performance.now() - t2;
  if (code === "alive") s.child.kill("SIGKILL");
  upstream.closeAllConnections();
  upstream.close();

  const queued = (NARINFOS * REFS).toLocaleString("en");
  return [
    {
      item: "3",
      what: `SIGTERM with ${queued} queued upstream lookups (upstream answers in 20 s)`,
      before: "alive after 90 s",
      now: code === "alive" ? "alive after 90 s" : `exited (${code}) in ${seconds(termMs)}`,
    },
    {
      item: "3",
      what: `server RSS growth per queued reference, first and second half of the flood (${NARINFOS.toLocaleString("en")} narinfos × ${REFS} missing references, pushed in ${seconds(floodMs)})`,
      before: "~2 KB, growing with the queue",
      now: `${perRef(rssHalf - rssBefore)} (+${mib(rssHalf - rssBefore)}), then ${perRef(rssAfter - rssHalf)} (+${mib(rssAfter - rssHalf)})`,
    },
    {
      item: "3",
      what: "an honest narinfo pushed after the backlog becomes visible",
      before: `hidden behind the whole backlog (${queued} × 20 s / 8 ≈ ${((NARINFOS * REFS * 20) / 8 / 86_400).toFixed(1)} days)`,
      now: visible ? `after ${seconds(honestMs)}` : `still hidden after ${seconds(honestMs)}`,
    },
    {
      item: "3",
      what: "upstream requests made before SIGTERM",
      before: "every queued reference, one after the other",
      now: `${askedBeforeTerm.toLocaleString("en")} (the newest first; the rest left to the periodic recheck)`,
    },
  ];
}

// --- item 6: idle sockets from many addresses against the open-file limit ---

/** Opens a connection from `from`; resolves once connected (or undefined when refused). */
function idleSocket(port: number, from: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1", localAddress: from }, () => resolve(s));
    s.on("error", () => resolve(undefined));
  });
}

/** A GET /healthz from `from`: whether it was answered 200 within 5 s. */
function newClient(port: number, from: string): Promise<boolean> {
  return new Promise((resolve) => {
    let got = "";
    const s = connect({ port, host: "127.0.0.1", localAddress: from }, () =>
      s.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 5000);
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (got.includes("\r\n\r\n")) done(/^HTTP\/1\.1 200 /.test(got));
    });
    s.on("error", () => done(false));
    s.on("close", () => done(/^HTTP\/1\.1 200 /.test(got)));
  });
}

async function item6(): Promise<Row[]> {
  const FD_LIMIT = 1024;
  const ADDRESSES = 20;
  const PER_ADDRESS = 60; // under the per-client cap of 64
  const NEW_CLIENTS = 20;
  const data = join(work, "item6");
  await cacheAt(data);
  const s = await serve(["--data", data, "--quiet", "--no-upstream"], { fdLimit: FD_LIMIT });
  const pid = s.child.pid as number;
  const port = Number(new URL(s.url).port);
  const idle: Socket[] = [];
  let closedByServer = 0;
  for (let a = 1; a <= ADDRESSES; a++)
    for (let i = 0; i < PER_ADDRESS; i++) {
      const c = await idleSocket(port, `127.0.1.${a}`);
      if (!c) continue;
      c.on("close", () => closedByServer++);
      c.on("error", () => {});
      idle.push(c);
    }
  await sleep(1000);
  const fdsHeld = openFds(pid);
  let answered = 0;
  for (let i = 0; i < NEW_CLIENTS; i++) if (await newClient(port, `127.0.2.${1 + (i % 10)}`)) answered++;
  const fdsAfter = openFds(pid);
  const shedOnly = closedByServer;
  for (const c of idle) c.destroy();
  s.child.kill("SIGTERM");
  await s.exited;
  const held = ADDRESSES * PER_ADDRESS;
  return [
    {
      item: "6",
      what: `new clients answered while ${held.toLocaleString("en")} idle sockets from ${ADDRESSES} loopback addresses (each under the per-client cap) press a server with \`ulimit -n ${FD_LIMIT}\``,
      before: "none: 21,080 idle sockets from 340 addresses took every descriptor, every new client refused",
      now: `${answered} of ${NEW_CLIENTS}`,
    },
    {
      item: "6",
      what: "server descriptors in use (of the limit) / idle connections the server closed, longest idle first",
      before: "all of them / none",
      now: `${Math.max(fdsHeld, fdsAfter)} of ${FD_LIMIT} / ${shedOnly.toLocaleString("en")}`,
    },
  ];
}

// --- item 8: a full disk ---

function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return false;
  }
  cleanups.push(() => execFileSync("umount", ["-l", dir], { stdio: "ignore" }));
  return true;
}

/** Fills the file system of `dir` with one file; returns its path (delete it to free the space). */
function fill(dir: string): string {
  const file = join(dir, "filler");
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  // What is left is less than a block: fill it too.
  const fd2 = openSync(join(dir, "filler-tail"), "w");
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512));
  } catch {}
  closeSync(fd2);
  return file;
}

function unfill(dir: string): void {
  for (const f of ["filler", "filler-tail"]) unlinkSync(join(dir, f));
}

/** The first refusal of a push (status, Retry-After, body), or "accepted". */
async function pushOutcome(url: string, token: string, u: Upload): Promise<string> {
  for (const [path, body] of [
    [`/main/${u.url}`, u.file],
    [`/main/${u.hash}.narinfo`, formatNarInfo(u.narinfo)],
  ] as const) {
    const r = await put(`${url}${path}`, token, body);
    const text = (await r.text()).trim();
    if (r.status >= 300) {
      const retry = r.headers.get("retry-after");
      return `${r.status}${retry ? `, Retry-After: ${retry}` : ""} "${text.slice(0, 80)}"`;
    }
  }
  return "accepted (204)";
}

async function item8(): Promise<Row[]> {
  const dbDir = join(work, "item8-db");
  const blobDir = join(work, "item8-blobs");
  if (!mountTmpfs(dbDir, "8m") || !mountTmpfs(blobDir, "8m"))
    return [{ item: "8", what: "a full disk", before: "-", now: "skipped (mounting a tmpfs needs root)" }];
  const at = { db: `sqlite://${join(dbDir, "nixcache.db")}`, storage: `file://${blobDir}` };
  const { token } = await cacheAt(at);
  const s = await serve(["--db", at.db, "--storage", at.storage, "--quiet", "--no-upstream"]);
  const errors = () =>
    s
      .stderr()
      .split("\n")
      .filter((l) => /"level":"error"/.test(l)).length;

  fill(blobDir);
  const blobFull = await pushOutcome(s.url, token, await makeUpload("full-blob", "none", 1 << 20));
  const blobErrors = errors();
  unfill(blobDir);
  const afterBlob = await pushOutcome(s.url, token, await makeUpload("freed-blob", "none", 1 << 20));

  fill(dbDir);
  const dbFull = await pushOutcome(s.url, token, await makeUpload("full-db", "none", 100_000));
  const dbErrors = errors() - blobErrors;
  unfill(dbDir);
  const afterDb = await pushOutcome(s.url, token, await makeUpload("freed-db", "none", 100_000));
  const requestLines = s
    .stderr()
    .split("\n")
    .filter((l) => /"method":/.test(l)).length;
  s.child.kill("SIGTERM");
  await s.exited;
  return [
    {
      item: "8",
      what: "push while blob storage is full (ENOSPC)",
      before: '400 "upload failed … ENOSPC"',
      now: blobFull,
    },
    { item: "8", what: "push while the database is full (SQLITE_FULL)", before: "500", now: dbFull },
    {
      item: "8",
      what: "lines logged under `--quiet` for those two (request lines)",
      before: "nothing at all",
      now: `${blobErrors} + ${dbErrors} errors (${requestLines} request lines)`,
    },
    {
      item: "8",
      what: "push once space is freed, no restart (storage / database)",
      before: "works",
      now: `${afterBlob} / ${afterDb}`,
    },
  ];
}

// --- the run ---

/** Items replayed in a file of their own (each also runs alone) give one row. */
const alone =
  (f: () => Promise<{ item: number; what: string; before: string; now: string }>) =>
  async (): Promise<Row[]> => {
    const r = await f();
    return [{ ...r, item: String(r.item) }];
  };

/** Each item of issue 30 replayed here. */
const SECTIONS: Array<[string, string, () => Promise<Row[]>]> = [
  ["1", "a served path pushed again naming a path nobody has", alone(item1)],
  ["2", "pins at their bounds", alone(item2)],
  ["3", "SIGTERM while upstream lookups are queued", item3],
  ["5", "the dashboard of a cache with 30,000 branches", alone(item5)],
  ["6", "a global connection cap", item6],
  ["8", "a full disk", item8],
  ["15", "a GC killed while it deletes", alone(item15)],
];

const rows: Row[] = [];
for (const [item, title, run] of SECTIONS) {
  if (only && !only.has(item)) continue;
  const t0 = performance.now();
  console.error(`item ${item}: ${title} …`);
  rows.push(...(await run()));
  console.error(`item ${item}: done in ${seconds(performance.now() - t0)}`);
}
const cell = (s: string) => s.replace(/\|/g, "\\|");
const table = [
  "| item | what | issue's figure | now |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.item} | ${cell(r.what)} | ${cell(r.before)} | ${cell(r.now)} |`),
].join("\n");
console.log(table);
const date = new Date().toISOString();
writeFileSync(
  join(root, "bench/reliability/RESULTS.md"),
  `# bench/reliability: the server's hardening (issue 30), replayed end to end

Rerun: \`npm run build && node --import tsx bench/reliability/run.ts\` (\`--only 3,6\` for some
items; item 8 mounts two 8 MiB tmpfs file systems and needs root). Measured ${date} on this
project's 2-core machine (shared with other work), against the built \`nixcache serve\`.

${table}

How each is replayed (items 1, 2, 5 and 15 also run alone: \`node --import tsx bench/reliability/item-N.ts\`):

- **1.** A path built and pushed by real Nix (\`nix-build\`, \`nix copy --to\`) to an in-process server; the
  same narinfo is PUT again naming a reference nobody has; then what is served, and \`nix-store -r\` of
  the path into a fresh store.
- **2.** A writer posts revisions of one pin with as many artifacts as it may (and once the issue's
  shape, 1,000 artifacts of 4 KB); the pin list and the dashboard's cache view are read anonymously,
  four readers at once while /healthz is probed.

- **3.** An upstream (in the bench process) that takes 20 s to answer 404, and serves one signed
  path at once. 1,000 narinfos of 200 references it lacks each are pushed (one NAR, named by all of
  them), then an honest narinfo whose one reference the upstream serves; then SIGTERM. RSS is the
  server's VmRSS before and after the flood.
- **5.** A cache with CI reports from 30,000 branches: its dashboard view read anonymously (bytes,
  the server's CPU per read), then by four clients at once while /healthz is probed; a branch among
  the oldest found by name.
- **6.** \`nixcache serve\` under \`prlimit --nofile=1024\` (default \`--max-connections\`: half of what
  1024 leaves after 128, 448). 1,200 connections that send nothing, 60 from each of 20 loopback
  addresses (the per-client cap is 64), then 20 new clients each send \`GET /healthz\`.
- **8.** The database and the blobs on two 8 MiB tmpfs mounts, \`serve --quiet\`. Each is filled with
  a file, a NAR and its narinfo are pushed, the file is deleted and another push is made.
- **15.** A \`nixcache gc\` on SQLite and S3 (Swift) reaching S3 through a proxy that holds its DELETEs,
  SIGKILLed with its blob claims taken; then how soon the next \`nixcache gc\` runs, and a re-upload
  of a blob the dead GC had claimed.
`,
);
process.exit(0);
