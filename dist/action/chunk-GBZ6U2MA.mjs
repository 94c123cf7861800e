import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  limiter
} from "./chunk-CI2MQBST.mjs";
import {
  external_exports
} from "./chunk-HVBSCZIH.mjs";
import {
  DEFAULT_STORE_DIR,
  NixcacheError,
  encodeNar,
  formatHashNix32,
  hashEquals,
  narInfoFingerprint,
  parseHash,
  parseStorePath,
  signDetached
} from "./chunk-HG6QJGPZ.mjs";

// src/local-nix/path-info.ts
import { realpath } from "node:fs/promises";

// src/local-nix/nix-command.ts
import { spawn } from "node:child_process";

// src/local-nix/nix-version.ts
var NUM = "([0-9]+)\\.([0-9]+)(?:\\.([0-9]+))?";
var VERSION_LINE = new RegExp(`^\\S+ \\((Nix|Lix, like Nix|Determinate Nix ${NUM}[^)]*)\\) ${NUM}`);
var triple = (a, b, c) => [Number(a), Number(b), Number(c ?? 0)];
function parseNixVersion(text) {
  const line = text.split("\n")[0]?.trim() ?? "";
  const m = VERSION_LINE.exec(line);
  if (!m) return void 0;
  const version = triple(m[5], m[6], m[7]);
  if (m[1] === "Nix") return { implementation: "nix", version, text: line };
  if (m[1] === "Lix, like Nix") return { implementation: "lix", version, text: line };
  return { implementation: "determinate", version, determinate: triple(m[2], m[3], m[4]), text: line };
}
function compareVersions(a, b) {
  for (let i = 0; i < 3; i++)
    if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
var atLeast = (v, maj, min, patch = 0) => compareVersions(v, [maj, min, patch]) >= 0;
function nixAtLeast(v, maj, min, patch = 0) {
  return v.implementation !== "lix" && atLeast(v.version, maj, min, patch);
}
function pathInfoJsonForms(v) {
  if (v === void 0) return [["--json", "--json-format", "2"], ["--json"]];
  if (nixAtLeast(v, 2, 35)) return [["--json", "--json-format", "3"]];
  if (nixAtLeast(v, 2, 33)) return [["--json", "--json-format", "2"]];
  return [["--json"]];
}
function configShowForms(v) {
  if (v === void 0) return [["config", "show"], ["show-config"]];
  if (v.implementation === "lix" || nixAtLeast(v, 2, 20)) return [["config", "show"]];
  return [["show-config"]];
}

// src/local-nix/nix-command.ts
var NixCommandError = class extends NixcacheError {
  constructor(message2, exitCode, stderr) {
    super("unavailable", message2);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
  exitCode;
  stderr;
};
var NIX_FEATURE_ARGS = ["--extra-experimental-features", "nix-command flakes"];
var DEPRECATION = /^warning: (?:.*is a deprecated alias for .*|.*'--[a-z-]+' without '--[a-z-]+' is deprecated.*|.*(?:flag|option|command) .*is deprecated.*)$/;
var ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");
function stripAnsi(s) {
  return s.replace(ANSI, "");
}
function deprecationWarnings(stderr) {
  return stderr.split("\n").map((l) => stripAnsi(l).trim()).filter((l) => DEPRECATION.test(l));
}
var shown = /* @__PURE__ */ new Set();
function noticeDeprecations(program, args, stderr) {
  for (const w of deprecationWarnings(stderr)) {
    if (shown.has(w)) continue;
    shown.add(w);
    const cmd = [program, ...args.filter((a) => !a.startsWith("/") && !NIX_FEATURE_ARGS.includes(a))].slice(0, 4).join(" ");
    process.stderr.write(
      `nixcache: Nix warned that \`${cmd}\` is a deprecated form: ${w.replace(/^warning: /, "")} (nixcache should ask differently: please report this with \`nix --version\`)
`
    );
  }
}
function runNixProgram(program, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"]
    });
    const out = [];
    const err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => {
      err.push(d);
      opts.onStderr?.(d);
    });
    child.on("error", (e) => {
      const msg = e.code === "ENOENT" ? `${program} is not installed or not on PATH` : `cannot run ${program}: ${e.message}`;
      reject(new NixCommandError(msg, null, ""));
    });
    child.on("close", (code) => {
      const stderr = Buffer.concat(err).toString("utf8");
      noticeDeprecations(program, args, stderr);
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else {
        const tail = stderr.trim().split("\n").slice(-15).join("\n");
        reject(
          new NixCommandError(`${program} ${args.join(" ")} failed (exit ${code}):
${tail}`, code, stderr)
        );
      }
    });
    child.stdin.on("error", () => {
    });
    child.stdin.end(opts.input ?? "");
  });
}
var detected;
var unknownSaid = false;
function nixVersion() {
  detected ??= runNixProgram("nix", ["--version"]).then((out) => {
    const v = parseNixVersion(out);
    if (v === void 0 && !unknownSaid) {
      unknownSaid = true;
      process.stderr.write(
        `nixcache: cannot tell which Nix this is from \`nix --version\` (${JSON.stringify(out.trim().split("\n")[0] ?? "")}): asking each command in its newer form first, then the older one
`
      );
    }
    return v;
  });
  return detected;
}
function runNix(args, opts = {}) {
  return runNixProgram("nix", [...NIX_FEATURE_ARGS, ...args], opts);
}
function isUsageError(e) {
  return e instanceof NixCommandError && e.exitCode !== null && e.exitCode !== 0 && /unrecogni[sz]ed (?:flag|option)|is not a recogni[sz]ed command|unknown (?:flag|option|command)/i.test(
    e.stderr
  );
}
var answered = /* @__PURE__ */ new Map();
async function runNixForms(forms, rest, opts = {}) {
  const key = JSON.stringify(forms);
  const start = answered.get(key) ?? 0;
  let last;
  for (let i = start; i < forms.length; i++) {
    const form = forms[i];
    try {
      const out = await runNix([...form, ...rest], opts);
      if (forms.length > 1) answered.set(key, i);
      return { out, form };
    } catch (e) {
      if (!isUsageError(e) || i === forms.length - 1) throw e;
      last = e;
    }
  }
  throw last ?? new NixCommandError("no form of the command to run", null, "");
}

// src/local-nix/path-info.ts
var PathInfoError = class extends NixcacheError {
  constructor(message2, options) {
    super("failed", message2, options);
  }
};
var signatureSchema = external_exports.union([external_exports.string(), external_exports.object({ keyName: external_exports.string(), sig: external_exports.string() })]);
var entrySchema = external_exports.object({
  path: external_exports.string().optional(),
  valid: external_exports.boolean().optional(),
  narHash: external_exports.string().optional(),
  narSize: external_exports.number().int().nonnegative().optional(),
  references: external_exports.array(external_exports.string()).optional(),
  deriver: external_exports.string().nullable().optional(),
  signatures: external_exports.array(signatureSchema).nullable().optional(),
  // Format 2+ writes the content address as an object; older ones as the text form.
  ca: external_exports.union([external_exports.string(), external_exports.null(), external_exports.record(external_exports.string(), external_exports.unknown())]).optional(),
  storeDir: external_exports.string().optional()
});
var arrayShape = external_exports.array(entrySchema);
var keyedShape = external_exports.record(external_exports.string(), entrySchema.nullable());
var wrappedShape = external_exports.object({
  version: external_exports.number().int(),
  storeDir: external_exports.string(),
  info: external_exports.record(external_exports.string(), entrySchema.nullable())
});
function parsePathInfoJson(text, storeDir = DEFAULT_STORE_DIR) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PathInfoError(`nix path-info printed invalid JSON: ${e.message}`);
  }
  const fail = (error) => new PathInfoError(`unexpected nix path-info JSON: ${external_exports.prettifyError(error)}`);
  const pairs = [];
  let shape;
  let baseDir;
  if (Array.isArray(json)) {
    shape = "array";
    const r = arrayShape.safeParse(json);
    if (!r.success) throw fail(r.error);
    for (const e of r.data) {
      if (!e.path) throw new PathInfoError("nix path-info JSON has an entry without a path");
      pairs.push([e.path, e]);
    }
  } else if (json !== null && typeof json === "object" && "info" in json && "version" in json) {
    shape = "wrapped";
    const r = wrappedShape.safeParse(json);
    if (!r.success) throw fail(r.error);
    if (r.data.version < 2)
      throw new PathInfoError(`unexpected nix path-info JSON version ${r.data.version}`);
    baseDir = r.data.storeDir;
    for (const [base, e] of Object.entries(r.data.info)) pairs.push([`${baseDir}/${base}`, e]);
  } else {
    shape = "keyed";
    const r = keyedShape.safeParse(json);
    if (!r.success) throw fail(r.error);
    pairs.push(...Object.entries(r.data));
  }
  if (baseDir !== void 0 && baseDir !== storeDir)
    throw new PathInfoError(`nix path-info speaks of store ${baseDir}, not ${storeDir}`);
  const infos = [];
  const invalid = [];
  for (const [path, e] of pairs) {
    if (e === null || e.valid === false) {
      invalid.push(path);
      continue;
    }
    infos.push(toPathInfo(path, e, storeDir, baseDir !== void 0));
  }
  return { infos, invalid, shape };
}
function toPathInfo(path, e, storeDir, baseNames) {
  const where = `nix path-info for ${path}`;
  const full = (p) => parseStorePath(baseNames ? `${storeDir}/${p}` : p, storeDir).path;
  try {
    parseStorePath(path, storeDir);
    if (e.narHash === void 0 || e.narSize === void 0)
      throw new PathInfoError("lacks narHash or narSize");
    const info = {
      path,
      narHash: parseHash(e.narHash),
      narSize: e.narSize,
      references: (e.references ?? []).map(full).sort(),
      signatures: (e.signatures ?? []).map((s) => typeof s === "string" ? s : `${s.keyName}:${s.sig}`)
    };
    if (e.deriver) info.deriver = full(e.deriver);
    const ca = formatCa(e.ca);
    if (ca) info.ca = ca;
    return info;
  } catch (err) {
    throw new PathInfoError(`${where}: ${err.message}`);
  }
}
function formatCa(ca) {
  if (ca === void 0 || ca === null) return void 0;
  if (typeof ca === "string") return ca;
  const method = ca.method;
  const hash = ca.hash;
  if (typeof method !== "string" || typeof hash !== "string")
    throw new PathInfoError(`unrecognised content address ${JSON.stringify(ca)}`);
  const h = parseHash(hash);
  const text = formatHashNix32(h);
  if (method === "text") return `text:${text}`;
  if (method === "nar") return `fixed:r:${text}`;
  if (method === "flat") return `fixed:${text}`;
  if (method === "git") return `fixed:git:${text}`;
  throw new PathInfoError(`unrecognised content-address method ${JSON.stringify(method)}`);
}
async function queryPathInfos(paths, opts = {}) {
  if (paths.length === 0) return [];
  const forms = pathInfoJsonForms(await nixVersion()).map((f) => ["path-info", ...f]);
  const rest = [...opts.recursive ? ["--recursive"] : [], "--", ...paths];
  const { out } = await runNixForms(forms, rest);
  const { infos, invalid } = parsePathInfoJson(out, opts.storeDir);
  if (invalid.length > 0) throw new PathInfoError(`not valid in the local Nix store: ${invalid.join(", ")}`);
  return infos;
}
async function resolveStorePath(arg, storeDir = DEFAULT_STORE_DIR) {
  let real = arg;
  if (!arg.startsWith(`${storeDir}/`) || arg.slice(storeDir.length + 1).includes("/")) {
    try {
      real = await realpath(arg);
    } catch (e) {
      throw new PathInfoError(
        `${arg}: ${e.code === "ENOENT" ? "no such file" : e.message}`
      );
    }
  }
  if (!real.startsWith(`${storeDir}/`))
    throw new PathInfoError(`${arg} is not in the Nix store (${storeDir})`);
  const top = real.slice(storeDir.length + 1).split("/")[0] ?? "";
  try {
    return parseStorePath(`${storeDir}/${top}`, storeDir).path;
  } catch (e) {
    throw new PathInfoError(`${arg}: ${e.message}`);
  }
}

// src/push/plan.ts
async function planPush(cache, closure) {
  const hashOf = (p) => parseStorePath(p.path).hash;
  const missing = await cache.missing(closure.map(hashOf));
  const toPush = topoSort(closure.filter((p) => missing.has(hashOf(p))));
  const skipped = closure.filter((p) => !missing.has(hashOf(p)));
  return { closure, toPush, skipped };
}
function topoSort(paths) {
  const byPath = new Map(paths.map((p) => [p.path, p]));
  const state = /* @__PURE__ */ new Map();
  const out = [];
  for (const root of paths) {
    if (state.has(root.path)) continue;
    const stack = [{ p: root, i: 0 }];
    state.set(root.path, "visiting");
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const refs = top.p.references;
      if (top.i < refs.length) {
        const r = refs[top.i++];
        const child = r === top.p.path ? void 0 : byPath.get(r);
        if (!child) continue;
        const s = state.get(r);
        if (s === "visiting") throw new Error(`reference cycle through ${r}`);
        if (s === "done") continue;
        state.set(r, "visiting");
        stack.push({ p: child, i: 0 });
      } else {
        state.set(top.p.path, "done");
        out.push(top.p);
        stack.pop();
      }
    }
  }
  return out;
}

// src/push/verified-nar.ts
import { createHash } from "node:crypto";
var NarMismatchError = class extends NixcacheError {
  constructor(message2, options) {
    super("failed", message2, options);
  }
};
async function* verifiedNar(path, expected) {
  checkAlgo(path, expected);
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of encodeNar(path)) {
    size += chunk.length;
    if (size > expected.narSize) throw tooLarge(path, expected);
    h.update(chunk);
    yield chunk;
  }
  checkNar(path, expected, size, { algo: "sha256", digest: h.digest() });
}
function checkNar(path, expected, size, hash) {
  checkAlgo(path, expected);
  if (size > expected.narSize) throw tooLarge(path, expected);
  if (size !== expected.narSize)
    throw mismatch(path, `is ${size} bytes, the Nix database says ${expected.narSize}`);
  if (!hashEquals(hash, expected.narHash)) {
    throw mismatch(
      path,
      `has hash ${formatHashNix32(hash)}, the Nix database says ${formatHashNix32(expected.narHash)}`
    );
  }
}
function checkAlgo(path, expected) {
  if (expected.narHash.algo !== "sha256")
    throw new NarMismatchError(
      `${path}: only sha256 NAR hashes can be checked, got ${expected.narHash.algo}`
    );
}
function tooLarge(path, expected) {
  return mismatch(path, `is larger than the registered ${expected.narSize} bytes`);
}
function mismatch(path, what) {
  return new NarMismatchError(
    `the NAR of ${path} ${what}: the store path was modified after it was registered (repair it with \`nix-store --verify --check-contents --repair\`); not uploaded`
  );
}

// src/push/session.ts
var CacheUnavailableError = class extends NixcacheError {
  constructor(message2, options) {
    super("unavailable", message2, options);
  }
};
var message = (e) => e instanceof Error ? e.message : String(e);
var PushSession = class {
  constructor(cache, opts = {}) {
    this.cache = cache;
    this.opts = opts;
    this.emit = opts.onEvent ?? (() => {
    });
    this.uploads = limiter(Math.max(1, opts.jobs ?? 8));
    this.summary = {
      cache: cache.url,
      dryRun: false,
      pushed: [],
      skipped: [],
      filtered: [],
      failed: [],
      narBytes: 0,
      fileBytes: 0,
      compression: opts.compression ?? "zstd"
    };
  }
  cache;
  opts;
  summary;
  /** Settles when the path is committed (or known present); rejects when it was not published. */
  states = /* @__PURE__ */ new Map();
  prepared;
  downReason;
  /** NAR uploads in flight; a slot is held for the upload only, not the wait for references. */
  uploads;
  emit;
  /** Why this cache cannot be used, once that is known (every later `add` fails with it). */
  get down() {
    return this.downReason;
  }
  /** Marks the cache unusable (found out elsewhere): every later `add` fails with `reason`. */
  markDown(reason) {
    this.downReason ??= reason;
  }
  prepare() {
    this.prepared ??= (async () => {
      const info = await this.cache.ensureCacheInfo();
      if (info.storeDir !== DEFAULT_STORE_DIR)
        throw new Error(`${this.cache.url} is a cache for store ${info.storeDir}, not ${DEFAULT_STORE_DIR}`);
    })();
    return this.prepared;
  }
  fail(e) {
    this.downReason ??= message(e);
    throw e instanceof CacheUnavailableError ? e : new CacheUnavailableError(message(e), { cause: e });
  }
  /**
   * Pushes the runtime closures of `paths` (or the given `closure`, already queried) and resolves
   * once every path of it is published or has failed. Paths an earlier `add` handles are not
   * uploaded again. Throws CacheUnavailableError when the cache cannot be used at all.
   */
  async add(paths, closure) {
    if (this.downReason !== void 0) throw new CacheUnavailableError(this.downReason);
    const infos = closure ?? await queryPathInfos(paths, { recursive: true });
    try {
      await this.prepare();
    } catch (e) {
      this.fail(e);
    }
    const fresh = infos.filter((p) => !this.states.has(p.path));
    if (fresh.length > 0) await this.start(fresh, infos.length);
    const outcomes = /* @__PURE__ */ new Map();
    const failed = [];
    await Promise.all(
      infos.map(async (p) => {
        try {
          outcomes.set(p.path, await this.states.get(p.path));
        } catch (e) {
          failed.push({ path: p.path, error: this.opts.signal?.aborted ? "interrupted" : message(e) });
        }
      })
    );
    return { outcomes, failed };
  }
  /** Plans `fresh` (what the cache lacks, minus what upstream serves) and starts its uploads. */
  async start(fresh, closureSize) {
    const hashOf = (p) => parseStorePath(p.path).hash;
    let missing;
    let excluded = /* @__PURE__ */ new Set();
    try {
      missing = await this.cache.missing(fresh.map(hashOf));
    } catch (e) {
      this.fail(e);
    }
    const lacking = fresh.filter((p) => missing.has(hashOf(p)));
    if (this.opts.exclude && lacking.length > 0) excluded = await this.opts.exclude(lacking);
    for (const p of fresh) {
      if (this.states.has(p.path)) continue;
      if (!missing.has(hashOf(p))) {
        this.summary.skipped.push(p.path);
        this.states.set(p.path, Promise.resolve("already"));
      } else if (excluded.has(p.path)) {
        this.summary.filtered.push(p.path);
        this.states.set(p.path, Promise.resolve("filtered"));
      }
    }
    const order = topoSort(lacking.filter((p) => !this.states.has(p.path)));
    this.emit({
      type: "planned",
      closure: closureSize,
      toPush: order.length,
      skipped: closureSize - order.length,
      narBytes: order.reduce((n, p) => n + p.narSize, 0)
    });
    for (const p of order) {
      const done = this.pushOne(p).catch((e) => {
        const error = this.opts.signal?.aborted ? "interrupted" : message(e);
        this.summary.failed.push({ path: p.path, error });
        this.emit({ type: "failed", path: p.path, error });
        throw e;
      });
      done.catch(() => {
      });
      this.states.set(p.path, done);
    }
  }
  async pushOne(p) {
    const { opts, cache } = this;
    const staged = await this.uploads.run(() => {
      opts.signal?.throwIfAborted();
      this.emit({ type: "started", path: p.path });
      return cache.uploadNar({
        info: uploadInfo(p, opts.signingKey),
        compression: this.summary.compression,
        level: opts.level,
        nar: () => verifiedNar(p.path, p),
        narSource: { fsPath: p.path, check: (size, hash) => checkNar(p.path, p, size, hash) },
        onProgress: (n) => this.emit({ type: "progress", path: p.path, narBytes: n }),
        signal: opts.signal
      });
    });
    for (const r of p.references) {
      if (r === p.path) continue;
      const dep = this.states.get(r);
      if (!dep) continue;
      try {
        await dep;
      } catch {
        throw new Error(`not published because its reference ${r} failed`);
      }
    }
    opts.signal?.throwIfAborted();
    await staged.commit();
    this.summary.pushed.push(p.path);
    this.summary.narBytes += p.narSize;
    this.summary.fileBytes += staged.narInfo.fileSize ?? 0;
    this.emit({ type: "pushed", path: p.path, narSize: p.narSize, fileSize: staged.narInfo.fileSize ?? 0 });
    return "pushed";
  }
};
function uploadInfo(p, key) {
  const base = (full) => parseStorePath(full).base;
  const info = {
    storePath: p.path,
    narHash: p.narHash,
    narSize: p.narSize,
    references: p.references.map(base).sort(),
    sigs: [...p.signatures]
  };
  if (p.deriver) info.deriver = base(p.deriver);
  if (p.ca) info.ca = p.ca;
  if (key) {
    const sig = signDetached(key, narInfoFingerprint(info));
    info.sigs = [...info.sigs.filter((s) => !s.startsWith(`${key.name}:`)), sig];
  }
  return info;
}

export {
  configShowForms,
  NixCommandError,
  stripAnsi,
  runNixProgram,
  nixVersion,
  runNix,
  runNixForms,
  queryPathInfos,
  resolveStorePath,
  planPush,
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
