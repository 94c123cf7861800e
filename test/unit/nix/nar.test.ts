// NAR conformance against real Nix (`nix-store --dump/--restore`, `nix-hash`, `nix nar ls`), the
// decoder's rejections of malformed archives, extraction safety, and the `nixcache nar` CLI.
// Random trees come from a seeded PRNG: the seed is printed with every failure; NAR_SEED reruns one.
import assert from "node:assert/strict";
import { type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { formatHashNix32 } from "../../../src/nix/hash.js";
import { MAX_DEPTH, NarError, parseNar, validateNar } from "../../../src/nix/nar-decode.js";
import { encodeNar, encodeNarBorrowed, NarEncodeError, narHashOfPath } from "../../../src/nix/nar-encode.js";
import { extractNar, NarExtractError } from "../../../src/nix/nar-extract.js";
import { listNar, narListingJson } from "../../../src/nix/nar-list.js";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const BIN = join(REPO, "bin", "nixcache");
const SEED = process.env.NAR_SEED ? Number(process.env.NAR_SEED) : Math.floor(Math.random() * 2 ** 31);
const TREES = 200;
const SLASH = Buffer.from("/");

let work: string;

before(() => {
  // Real Nix is the oracle: its absence is a failure, never a skip.
  const r = spawnSync("nix-store", ["--version"], { encoding: "utf8" });
  assert.equal(
    r.status,
    0,
    `nix-store must be on PATH for the NAR conformance tests (${r.error?.message ?? r.stderr})`,
  );
  work = mkdtempSync(join(tmpdir(), "nixcache-nar-test-"));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Proc {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(
  cmd: string,
  args: string[],
  input?: Buffer | AsyncIterable<Buffer>,
  opts: SpawnOptions = {},
): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...opts });
    const out: Buffer[] = [];
    let err = "";
    child.stdout?.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    const stdin = child.stdin;
    if (!stdin) return;
    stdin.on("error", () => {}); // the child may exit before reading everything (that is tested)
    if (input === undefined) stdin.end();
    else if (Buffer.isBuffer(input)) stdin.end(input);
    else pipeline(Readable.from(input), stdin).catch(() => {});
  });
}

/** sha256 (hex) and size of a child's stdout, streamed so large NARs are never held. */
function hashOfCommand(cmd: string, args: string[]): Promise<{ hash: string; size: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const h = createHash("sha256");
    let size = 0;
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      h.update(c);
      size += c.length;
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`));
      else resolve({ hash: h.digest("hex"), size });
    });
  });
}

async function hashOf(chunks: AsyncIterable<Buffer>): Promise<{ hash: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const c of chunks) {
    h.update(c);
    size += c.length;
  }
  return { hash: h.digest("hex"), size };
}

const nixDump = (path: string) => hashOfCommand("nix-store", ["--dump", path]);

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Type and permission bits of every node, to compare our extraction with nix-store --restore. */
function modes(root: string): string[] {
  const out: string[] = [];
  const walk = (p: Buffer, rel: string) => {
    const st = lstatSync(p);
    out.push(
      `${rel} ${(st.mode & 0o170000).toString(8)} ${st.isSymbolicLink() ? "" : (st.mode & 0o7777).toString(8)}`,
    );
    if (st.isDirectory()) {
      for (const n of readdirSync(p, { encoding: "buffer" }).sort(Buffer.compare)) {
        walk(Buffer.concat([p, SLASH, n]), `${rel}/${n.toString("hex")}`);
      }
    }
  };
  walk(Buffer.from(root), "");
  return out;
}

// ---------------------------------------------------------------------------------------------
// random trees

const NAME_POOL: Buffer[] = [
  "a",
  "b",
  "A",
  "Z",
  "_",
  "-dash",
  ".hidden",
  "...",
  "with space",
  " lead",
  "trail ",
  "a.b",
  "é",
  "日本語",
  "\uFF5E", // U+FF5E: UTF-16 0xFF5E sorts after the surrogates of U+1F600, UTF-8 EF.. before F0..
  "\u{1F600}",
  "\uFF5Ez",
  "\u{1F600}z",
  "ﬀ",
  "x".repeat(255),
].map((s) => Buffer.from(s));
NAME_POOL.push(
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0x41]),
  Buffer.from([0x80]),
  Buffer.from([0xc3, 0x28]),
);

const TARGETS: Buffer[] = [
  "nonexistent",
  "/etc/passwd",
  "/",
  "..",
  "../..",
  ".",
  "sub/dir/",
  " spaced target ",
  "t".repeat(300),
  "\u{1F600}",
].map((s) => Buffer.from(s));
TARGETS.push(Buffer.from([0xff, 0x2f, 0x41]));

const SIZES = [0, 1, 7, 8, 9, 63, 64, 65, 4095, 4096, 56 * 1024, 65535, 65536, 65537, 130000];

class TreeGen {
  files = 0;
  bigFiles = 0;
  constructor(
    private readonly rng: () => number,
    private readonly index: number,
  ) {}

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng() * xs.length)] as T;
  }

  name(): Buffer {
    if (this.rng() < 0.5) return this.pick(NAME_POOL);
    // Random raw bytes: anything but NUL and "/", so every byte order question comes up.
    const len = this.int(1, 12);
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      let c = this.int(1, 255);
      if (c === 0x2f) c = 0x2e;
      b[i] = this.rng() < 0.6 ? 0x61 + this.int(0, 25) : c;
    }
    return b.equals(Buffer.from(".")) || b.equals(Buffer.from("..")) ? Buffer.from("dots") : b;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((this.rng() * 2 ** 32) >>> 0, i);
    for (let i = n - (n % 4); i < n; i++) b[i] = this.int(0, 255);
    return b;
  }

  file(path: Buffer): void {
    this.files++;
    let size: number;
    const r = this.rng();
    if (this.index % 50 === 7 && this.bigFiles === 0) {
      size = 1024 * 1024 + this.int(1, 300000);
      this.bigFiles++;
    } else if (r < 0.15) size = this.pick(SIZES);
    else size = this.int(0, 300);
    writeFileSync(path, this.bytes(size));
    // Only the owner-exec bit counts; 0o655/0o611 have group/other exec but are not executable.
    chmodSync(path, this.pick([0o644, 0o755, 0o600, 0o700, 0o655, 0o611, 0o744, 0o444, 0o555]));
  }

  symlink(path: Buffer): void {
    symlinkSync(this.pick(TARGETS), path);
  }

  dir(path: Buffer, depth: number, maxDepth: number): void {
    mkdirSync(path);
    const n = depth >= maxDepth ? 0 : this.int(0, depth === 0 ? 8 : 5);
    const used = new Set<string>();
    for (let i = 0; i < n; i++) {
      const name = this.name();
      if (used.has(name.toString("hex"))) continue;
      used.add(name.toString("hex"));
      const child = Buffer.concat([path, SLASH, name]);
      const r = this.rng();
      if (r < 0.3) this.dir(child, depth + 1, maxDepth);
      else if (r < 0.8) this.file(child);
      else this.symlink(child);
    }
  }

  /** A chain of directories `depth` deep with something at the bottom. */
  chain(path: Buffer, depth: number): void {
    let p = path;
    mkdirSync(p);
    for (let i = 0; i < depth; i++) {
      p = Buffer.concat([p, SLASH, this.name()]);
      mkdirSync(p);
    }
    this.file(Buffer.concat([p, SLASH, Buffer.from("leaf")]));
  }

  root(path: Buffer): void {
    if (this.index % 50 === 7) this.dir(path, 0, 2);
    else if (this.index % 40 === 3) this.chain(path, this.int(20, MAX_DEPTH - 2));
    else if (this.index % 20 === 5) this.file(path);
    else if (this.index % 20 === 6) this.symlink(path);
    else if (this.index % 20 === 8)
      mkdirSync(path); // empty directory
    else this.dir(path, 0, this.int(1, 5));
    if (this.index % 50 === 7 && this.bigFiles === 0)
      this.file(Buffer.concat([path, SLASH, Buffer.from("big file")]));
  }
}

describe(`NAR conformance with nix-store (NAR_SEED=${SEED})`, () => {
  it(`${TREES} random trees: dump, validate, extract and restore are identical to Nix`, async () => {
    const base = join(work, "random");
    mkdirSync(base);
    const rng = mulberry32(SEED);
    const trees: string[] = [];
    let bigFiles = 0;
    for (let i = 0; i < TREES; i++) {
      const path = join(base, `t${String(i).padStart(3, "0")}`);
      const g = new TreeGen(rng, i);
      g.root(Buffer.from(path));
      bigFiles += g.bigFiles;
      trees.push(path);
    }
    assert.ok(bigFiles >= 3, "some trees hold files over 1 MiB");

    // The NAR of the directory holding all trees embeds each tree's NAR verbatim, so one
    // nix-store run checks them all; on a difference, per-tree runs name the culprit.
    const nix = await nixDump(base);
    const ours = await hashOf(encodeNar(base));
    if (ours.hash !== nix.hash || ours.size !== nix.size) {
      for (const [i, t] of trees.entries()) {
        assert.deepEqual(
          await hashOf(encodeNar(t)),
          await nixDump(t),
          `tree ${i} (${t}) differs, NAR_SEED=${SEED}`,
        );
      }
      assert.fail(`the NAR of all trees differs from nix-store --dump, NAR_SEED=${SEED}`);
    }
    assert.deepEqual(
      await hashOf(encodeNarBorrowed(base)),
      nix,
      `encodeNarBorrowed differs, NAR_SEED=${SEED}`,
    );
    for (const [i, t] of trees.entries()) {
      // Each tree as the archive root (files and symlinks as roots included), decoded in small chunks.
      const one = await hashOf(encodeNar(t));
      const v = await validateNar(encodeNar(t, { chunkSize: 4096 }));
      assert.deepEqual(
        { size: v.narSize, hash: v.narHash.digest.toString("hex") },
        one,
        `tree ${i}, NAR_SEED=${SEED}`,
      );
    }

    const mine = `${base}.ours`;
    await extractNar(encodeNar(base), mine);
    const theirs = `${base}.nix`;
    const r = await run("nix-store", ["--restore", theirs], encodeNar(base));
    assert.equal(r.code, 0, `nix-store --restore of our NAR failed (NAR_SEED=${SEED}): ${r.stderr}`);
    const [mineDump, theirsDump] = await Promise.all([nixDump(mine), nixDump(theirs)]);
    assert.deepEqual(mineDump, nix, `our extraction differs from the original, NAR_SEED=${SEED}`);
    assert.deepEqual(
      theirsDump,
      nix,
      `nix-store --restore of our NAR differs from the original, NAR_SEED=${SEED}`,
    );
    assert.deepEqual(
      modes(mine),
      modes(theirs),
      `file modes differ from nix-store --restore, NAR_SEED=${SEED}`,
    );
    for (const t of trees) {
      // Per-tree extraction, with each tree's own root type.
      const dest = `${t}.x`;
      await extractNar(encodeNar(t), dest);
      assert.deepEqual(await hashOf(encodeNar(dest)), await hashOf(encodeNar(t)), `${t}, NAR_SEED=${SEED}`);
    }
  });

  it("sorts names by raw bytes, not UTF-16 (U+FF5E before U+1F600, 0xff last)", async () => {
    const dir = join(work, "order");
    mkdirSync(dir);
    for (const n of ["\u{1F600}", "\uFF5E", "Z", "a", "é"]) writeFileSync(join(dir, n), n);
    writeFileSync(Buffer.concat([Buffer.from(dir), SLASH, Buffer.from([0xff])]), "ff");
    assert.deepEqual(await hashOf(encodeNar(dir)), await nixDump(dir));
    const names = (await listNar(encodeNar(dir)))
      .slice(1)
      .map((e) => (e.segments[0] as Buffer).toString("hex"));
    assert.deepEqual(names, ["5a", "61", "c3a9", "efbd9e", "f09f9880", "ff"]);
  });

  it("lists like `nix nar ls --json -R`", async () => {
    const dir = join(work, "listing");
    new TreeGen(mulberry32(SEED + 1), 1).dir(Buffer.from(dir), 0, 3);
    mkdirSync(join(dir, "sub", "deeper"), { recursive: true });
    writeFileSync(join(dir, "sub", "deeper", "x"), "x");
    symlinkSync("target", join(dir, "sub", "link"));
    // nix prints names as JSON strings; compare only trees whose names are valid UTF-8.
    for (const n of readdirSync(dir, { encoding: "buffer" })) {
      if (Buffer.from(n.toString("utf8")).compare(n) !== 0)
        rmSync(Buffer.concat([Buffer.from(dir), SLASH, n]), { recursive: true });
    }
    const narFile = `${dir}.nar`;
    writeFileSync(narFile, await collect(encodeNar(dir)));
    const r = await run("nix", ["nar", "ls", "--json", "-R", narFile, "/"]);
    assert.equal(r.code, 0, r.stderr);
    const ours = narListingJson(await listNar(encodeNar(dir), { recursive: true }), true);
    assert.deepEqual(ours, JSON.parse(r.stdout.toString()), `NAR_SEED=${SEED}`);
  });

  it("matches nix-store on a file, an empty file, a symlink and an empty directory as the root", async () => {
    const cases = { file: "hello\n", empty: "" };
    for (const [name, content] of Object.entries(cases)) writeFileSync(join(work, name), content);
    symlinkSync("/nowhere", join(work, "link"));
    mkdirSync(join(work, "emptydir"));
    for (const name of ["file", "empty", "link", "emptydir"]) {
      const p = join(work, name);
      assert.deepEqual(await hashOf(encodeNar(p)), await nixDump(p), name);
    }
  });

  it(`dumps trees deeper than ${MAX_DEPTH} like Nix, but the decoder refuses them`, async () => {
    const dir = join(work, "deep");
    let p = dir;
    for (let i = 0; i <= MAX_DEPTH + 5; i++) p = join(p, "d");
    mkdirSync(p, { recursive: true });
    assert.deepEqual(await hashOf(encodeNar(dir)), await nixDump(dir));
    await assert.rejects(validateNar(encodeNar(dir)), (e: Error) => {
      assert.ok(e instanceof NarError);
      assert.match(e.message, /nested deeper than 64 levels at byte offset \d+/);
      return true;
    });
  });

  it("computes the hash nix-hash computes", async () => {
    const dir = join(work, "random", "t000");
    const r = await run("nix-hash", ["--type", "sha256", "--base32", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(formatHashNix32((await narHashOfPath(dir)).narHash), `sha256:${r.stdout.toString().trim()}`);
  });

  it("fails when a file grows while it is read, and on unsupported file types", async () => {
    // /proc files lstat as empty but read as non-empty: exactly a file that grew.
    await assert.rejects(hashOf(encodeNar("/proc/self/stat")), (e: Error) => {
      assert.ok(e instanceof NarEncodeError);
      assert.match(e.message, /grew while being archived/);
      return true;
    });
    const fifo = join(work, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    await assert.rejects(hashOf(encodeNar(fifo)), /unsupported type/);
  });
});

// ---------------------------------------------------------------------------------------------
// malformed archives

/** Builds NARs token by token, remembering offsets for the error messages. */
class NarBuilder {
  parts: Buffer[] = [];
  size = 0;

  raw(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  u64(n: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return this.raw(b);
  }

  /** One token with proper padding, or with `padByte` in its padding. */
  s(value: string | Buffer, padByte = 0): this {
    const b = typeof value === "string" ? Buffer.from(value) : value;
    this.u64(b.length).raw(b);
    const pad = (8 - (b.length % 8)) % 8;
    return this.raw(Buffer.alloc(pad, padByte));
  }

  ss(...values: string[]): this {
    for (const v of values) this.s(v);
    return this;
  }

  file(name: string, contents = "x"): this {
    return this.ss("entry", "(", "name", name, "node", "(", "type", "regular", "contents")
      .s(contents)
      .ss(")", ")");
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const dirStart = () => new NarBuilder().ss("nix-archive-1", "(", "type", "directory");

/** Feeds a buffer in small chunks, so that tokens straddle chunk boundaries. */
async function* chunked(b: Buffer, size = 3): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function rejection(nar: Buffer): Promise<NarError> {
  let caught: unknown;
  try {
    await validateNar(chunked(nar));
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof NarError, `expected a NarError, got ${String(caught)}`);
  return caught;
}

interface BadCase {
  name: string;
  nar: Buffer;
  message: RegExp;
  offset: number;
}

function badCases(): BadCase[] {
  const cases: BadCase[] = [];
  const add = (name: string, b: NarBuilder, at: number, message: RegExp) =>
    cases.push({ name, nar: b.build(), message, offset: at });
  {
    const b = new NarBuilder().ss("nix-archive-2", "(", "type", "regular", "contents", "", ")");
    add("bad magic", b, 0, /bad magic "nix-archive-2"/);
  }
  {
    const b = new NarBuilder().u64(3).raw(Buffer.from("GIF89a\0\0"));
    add("not a NAR at all", b, 0, /bad magic/);
  }
  {
    const b = dirStart().file("a");
    const at = b.size;
    b.file("a").s(")");
    add("duplicate entry", b, at + 48, /duplicate entry "a"/);
  }
  {
    const b = dirStart().file("b");
    const at = b.size;
    b.file("a").s(")");
    add("unsorted entries", b, at + 48, /entry "a" comes after "b".*not sorted/);
  }
  for (const [name, label, re] of [
    ["..", "'..'-named entry", /entry name "\.\." is not allowed/],
    [".", "'.'-named entry", /entry name "\." is not allowed/],
    ["a/b", "'/' in a name", /contains "\/"/],
    ["../../etc/passwd", "path traversal name", /contains "\/"/],
    ["a\0b", "NUL in a name", /contains a NUL byte/],
    ["", "empty name", /empty entry name/],
  ] as const) {
    const b = dirStart();
    const at = b.size;
    b.file(name).s(")");
    add(label, b, at + 48, re);
  }
  {
    const b = dirStart().ss("entry", "(", "name");
    const at = b.size;
    b.s("n".repeat(256)).ss("node", "(", "type", "regular", "contents", "", ")", ")", ")");
    add("name longer than 255 bytes", b, at, /entry name is 256 bytes long, more than the limit of 255/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(", "type", "symlink", "target");
    const at = b.size;
    b.s("t".repeat(4096)).s(")");
    add("symlink target longer than 4095 bytes", b, at, /symlink target is 4096 bytes long/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(", "type", "regular", "contents");
    const at = b.size;
    b.u64(2n ** 62n);
    add("absurd file size", b, at, /file size has an absurd length/);
  }
  {
    const b = dirStart();
    const at = b.size;
    b.u64(2n ** 40n);
    add("absurd token length", b, at, /expected "entry" or "\)", found a 1099511627776-byte string/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(", "type");
    const at = b.size;
    b.ss("fifo", ")");
    add("unknown node type", b, at, /unknown node type "fifo"/);
  }
  {
    const b = dirStart();
    const at = b.size;
    b.ss("entries", ")");
    add("unknown tag in a directory", b, at, /expected "entry" or "\)", found "entries"/);
  }
  {
    // Older Nix readers accept fields in any order; the canonical form has "executable" first.
    const b = new NarBuilder().ss("nix-archive-1", "(", "type", "regular", "contents").s("x");
    const at = b.size;
    b.ss("executable", "", ")");
    add("executable after contents (wrong token order)", b, at, /expected "\)", found "executable"/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(", "type", "regular", "executable");
    const at = b.size;
    b.s("yes").ss("contents", "", ")");
    add("executable marker with a value", b, at, /executable marker has a non-empty value/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(");
    const at = b.size;
    b.ss("contents", "regular");
    add("missing type", b, at, /expected "type", found "contents"/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(", "type", "regular", "contents");
    const at = b.size + 8 + 3;
    b.s("abc", 0x2a).s(")");
    add("non-zero padding after contents", b, at, /non-zero padding after file contents/);
  }
  {
    const b = dirStart().ss("entry", "(", "name");
    const at = b.size + 8 + 1;
    b.s("a", 1).ss("node", "(", "type", "regular", "contents", "", ")", ")", ")");
    add("non-zero padding after a name", b, at, /non-zero padding after entry name/);
  }
  {
    const b = new NarBuilder().ss("nix-archive-1", "(", "type", "regular", "contents", "hi", ")");
    const at = b.size;
    b.raw(Buffer.from("garbage!"));
    add("trailing data", b, at, /trailing data after the end of the archive/);
  }
  {
    const b = dirStart();
    let at = 0;
    for (let i = 0; i <= MAX_DEPTH; i++) {
      b.ss("entry", "(", "name");
      at = b.size;
      b.ss("d", "node", "(", "type", "directory");
    }
    add("nesting deeper than 64", b, at, /nested deeper than 64 levels/);
  }
  return cases;
}

describe("NAR decoder rejects malformed archives", () => {
  for (const c of badCases()) {
    it(c.name, async () => {
      const e = await rejection(c.nar);
      assert.match(e.message, c.message);
      assert.equal(e.offset, c.offset, e.message);
      assert.match(e.message, new RegExp(`^invalid NAR: .* at byte offset ${c.offset}$`));
    });
  }

  it("rejects every truncation of a valid archive, at the offset where it ends", async () => {
    const dir = join(work, "trunc");
    mkdirSync(dir);
    writeFileSync(join(dir, "f"), "some contents");
    chmodSync(join(dir, "f"), 0o755);
    symlinkSync("f", join(dir, "l"));
    mkdirSync(join(dir, "sub"));
    const nar = await collect(encodeNar(dir));
    for (let cut = 0; cut < nar.length; cut++) {
      const e = await rejection(nar.subarray(0, cut));
      assert.match(e.message, /unexpected end of archive/);
      assert.equal(e.offset, cut);
    }
  });

  it("parses the same entries whatever the chunking of the input", async () => {
    const dir = join(work, "random", "t001");
    const nar = await collect(encodeNar(dir));
    const describe = async (src: AsyncIterable<Buffer>) => {
      const out: string[] = [];
      for await (const e of parseNar(src)) {
        const body =
          e.type === "regular"
            ? (await collect(e.contents)).toString("hex")
            : e.type === "symlink"
              ? e.target.toString("hex")
              : "";
        out.push(`${e.type} ${e.path} ${body}`);
      }
      return out;
    };
    const whole = await describe(chunked(nar, nar.length || 1));
    for (const size of [1, 5, 8, 13, 4096]) assert.deepEqual(await describe(chunked(nar, size)), whole);
  });

  it("skips contents the caller does not read, and can stop early", async () => {
    const dir = join(work, "random", "t002");
    const nar = await collect(encodeNar(dir));
    const n = (await listNar(chunked(nar, 7), { recursive: true })).length;
    let seen = 0;
    for await (const _ of parseNar(chunked(nar, 7))) seen++;
    assert.equal(seen, n);
  });
});

// ---------------------------------------------------------------------------------------------
// extraction safety

describe("NAR extraction", () => {
  function canary(): { dir: string; check: () => void } {
    const dir = join(work, `canary-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "keep"), "untouched");
    const before = readdirSync(dir).join(",");
    return {
      dir,
      check: () => {
        assert.equal(readdirSync(dir).join(","), before, "the canary directory changed");
        assert.equal(readFileSync(join(dir, "keep"), "utf8"), "untouched");
      },
    };
  }

  it("writes nothing outside the target for hostile archives", async () => {
    const c = canary();
    const name = c.dir.slice(c.dir.lastIndexOf("/") + 1);
    const hostile = [
      dirStart().file(`../${name}/pwned`).s(")"),
      dirStart().file("..").s(")"),
      // A symlink into the canary, then a directory of the same name to write through it.
      dirStart()
        .ss("entry", "(", "name", "evil", "node", "(", "type", "symlink", "target", `../${name}`, ")", ")")
        .ss("entry", "(", "name", "evil", "node", "(", "type", "directory")
        .file("pwned")
        .ss(")", ")", ")"),
      new NarBuilder().ss("nix-archive-1", "(", "type", "symlink", "target", c.dir, ")").file("pwned"),
    ];
    for (const [i, b] of hostile.entries()) {
      const dest = join(work, `hostile-${i}`);
      await assert.rejects(extractNar(chunked(b.build(), 64), dest), NarError);
      c.check();
      assert.ok(!existsSync(join(c.dir, "pwned")));
      rmSync(dest, { recursive: true, force: true });
    }
  });

  it("never writes through a symlink planted at a path it is about to create", async () => {
    const c = canary();
    const dest = join(work, "planted");
    const nar = dirStart().file("a").file("b").s(")").build();
    // Parse by hand so we can plant a symlink at dest/b between the two entries.
    async function* source(): AsyncGenerator<Buffer> {
      yield nar.subarray(0, 200);
      symlinkSync(join(c.dir, "keep"), join(dest, "b"));
      yield nar.subarray(200);
    }
    await assert.rejects(extractNar(source(), dest), NarExtractError);
    c.check();
  });

  it("refuses an existing target, like nix-store --restore", async () => {
    const dest = join(work, "exists");
    mkdirSync(dest);
    const nar = dirStart().s(")").build();
    await assert.rejects(extractNar(chunked(nar), dest), /cannot extract to '.*exists': it already exists/);
  });
});

// ---------------------------------------------------------------------------------------------
// the CLI

function cli(args: string[], input?: Buffer): Promise<Proc> {
  return run(BIN, args, input);
}

describe("nixcache nar (CLI)", () => {
  let tree: string;
  let narFile: string;
  let nar: Buffer;

  before(async () => {
    assert.ok(existsSync(join(REPO, "dist", "cli", "main.js")), "run `npm run build` before the CLI tests");
    tree = join(work, "cli-tree");
    mkdirSync(join(tree, "bin"), { recursive: true });
    mkdirSync(join(tree, "share", "doc"), { recursive: true });
    writeFileSync(join(tree, "bin", "hello"), "#!/bin/sh\necho hello\n");
    chmodSync(join(tree, "bin", "hello"), 0o755);
    writeFileSync(join(tree, "share", "doc", "README"), "read me\n");
    writeFileSync(join(tree, "big"), Buffer.alloc(3 * 1024 * 1024 + 5, 7));
    symlinkSync("bin/hello", join(tree, "link"));
    narFile = join(work, "cli.nar");
    const r = await run("nix-store", ["--dump", tree]);
    assert.equal(r.code, 0, r.stderr);
    nar = r.stdout;
    writeFileSync(narFile, nar);
  });

  it("dump writes exactly what nix-store --dump writes", async () => {
    const r = await cli(["nar", "dump", tree]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(nar));
  });

  it("dump stops quietly when the reader goes away", () => {
    const r = spawnSync(
      "bash",
      ["-c", `set -o pipefail; "${BIN}" nar dump "${tree}" | head -c 10 >/dev/null`],
      { encoding: "utf8" },
    );
    assert.equal(r.stderr, "");
  });

  it("hash prints sha256:<nix32> equal to nix-hash", async () => {
    const [ours, theirs] = await Promise.all([
      cli(["nar", "hash", tree]),
      run("nix-hash", ["--type", "sha256", "--base32", tree]),
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout.toString(), `sha256:${theirs.stdout.toString().trim()}\n`);
  });

  it("ls, ls -R, ls -l and ls PATH print what nix nar ls prints", async () => {
    const combos: [string[], string][] = [
      [[], "/"],
      [["-R"], "/"],
      [["-R", "-l"], "/"],
      [["-l"], "/bin"],
      [[], "/bin/hello"],
      [["-l"], "/link"],
    ];
    await Promise.all(
      combos.map(async ([args, inner]) => {
        const [ours, theirs] = await Promise.all([
          cli(["nar", "ls", ...args, narFile, inner]),
          run("nix", ["nar", "ls", ...args, narFile, inner]),
        ]);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(ours.stdout.toString(), theirs.stdout.toString(), `ls ${args.join(" ")} ${inner}`);
      }),
    );
  });

  it("ls --json -R matches nix nar ls --json -R; --json alone describes the children", async () => {
    const [ours, theirs] = await Promise.all([
      cli(["nar", "ls", "--json", "-R", narFile]),
      run("nix", ["nar", "ls", "--json", "-R", narFile, "/"]),
    ]);
    assert.deepEqual(JSON.parse(ours.stdout.toString()), JSON.parse(theirs.stdout.toString()));
    const top = JSON.parse((await cli(["nar", "ls", "--json", narFile])).stdout.toString());
    assert.deepEqual(top.entries.bin, { type: "directory" });
    assert.deepEqual(top.entries.link, { type: "symlink", target: "bin/hello" });
    assert.equal(top.entries.big.size, 3 * 1024 * 1024 + 5);
  });

  it("cat writes one file; clear errors for missing paths and non-files", async () => {
    const [r, big, missing, dir] = await Promise.all([
      cli(["nar", "cat", narFile, "/bin/hello"]),
      cli(["nar", "cat", narFile, "big"]),
      cli(["nar", "cat", narFile, "/nope"]),
      cli(["nar", "cat", narFile, "/bin"]),
    ]);
    assert.equal(r.stdout.toString(), "#!/bin/sh\necho hello\n");
    assert.ok(big.stdout.equals(readFileSync(join(tree, "big"))));
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr, "nixcache: error: path '/nope' does not exist in the archive\n");
    assert.notEqual(dir.code, 0);
    assert.equal(dir.stderr, "nixcache: error: '/bin' is a directory, not a regular file\n");
  });

  it("extract makes the tree nix-store --restore makes", async () => {
    const dest = join(work, "cli-extracted");
    const r = await cli(["nar", "extract", narFile, dest]);
    assert.equal(r.code, 0, r.stderr);
    const theirs = join(work, "cli-restored");
    assert.equal((await run("nix-store", ["--restore", theirs], nar)).code, 0);
    assert.deepEqual(await nixDump(dest), await nixDump(tree));
    assert.deepEqual(modes(dest), modes(theirs));
    assert.equal(readlinkSync(join(dest, "link")), "bin/hello");
    const again = await cli(["nar", "extract", narFile, dest]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /^nixcache: error: cannot extract to '.*': it already exists\n$/);
  });

  it("reads the archive from stdin with -", async () => {
    const dest = join(work, "cli-stdin");
    const [ls, lsFile, cat, ex] = await Promise.all([
      cli(["nar", "ls", "-R", "-"], nar),
      cli(["nar", "ls", "-R", narFile]),
      cli(["nar", "cat", "-", "/share/doc/README"], nar),
      cli(["nar", "extract", "-", dest], nar),
    ]);
    assert.equal(ls.stdout.toString(), lsFile.stdout.toString());
    assert.equal(cat.stdout.toString(), "read me\n");
    assert.equal(ex.code, 0, ex.stderr);
    assert.deepEqual(await nixDump(dest), await nixDump(tree));
  });

  it("fails with the reason and the offset for malformed archives", async () => {
    const named = [
      "bad magic",
      "duplicate entry",
      "unsorted entries",
      "'..'-named entry",
      "'/' in a name",
      "unknown node type",
      "non-zero padding after contents",
      "trailing data",
    ];
    const cases = badCases().filter((c) => named.includes(c.name));
    assert.equal(cases.length, named.length);
    await Promise.all(
      cases.map(async (c) => {
        const r = await cli(["nar", "ls", "-R", "-"], c.nar);
        assert.notEqual(r.code, 0, c.name);
        assert.match(
          r.stderr,
          new RegExp(`^nixcache: error: invalid NAR: .* at byte offset ${c.offset}\\n$`),
          c.name,
        );
      }),
    );
    const r = await cli(["nar", "ls", "-"], nar.subarray(0, nar.length - 8));
    assert.match(r.stderr, /unexpected end of archive/);
  });

  it("extract of a hostile archive writes nothing outside the target", async () => {
    const canaryDir = join(work, "cli-canary");
    mkdirSync(canaryDir);
    const bad = dirStart().file("../cli-canary/pwned").s(")").build();
    const r = await cli(["nar", "extract", "-", join(work, "cli-hostile")], bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /contains "\/" at byte offset 128/);
    assert.deepEqual(readdirSync(canaryDir), []);
  });

  it("every nar command has help with an example", async () => {
    await Promise.all(
      ["dump", "hash", "ls", "cat", "extract"].map(async (sub) => {
        const r = await cli(["nar", sub, "--help"]);
        assert.equal(r.code, 0);
        assert.match(r.stdout.toString(), /Example/);
      }),
    );
  });
});
