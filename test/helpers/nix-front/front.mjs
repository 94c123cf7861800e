// A test-only `nix` and `nix-store` that answer as a newer Nix, Lix or Determinate Nix would, on
// top of the real Nix 2.8 of this machine: first on PATH in test/e2e/cli/nix-versions.test.ts (the `nix`
// and `nix-store` shims written by ../nix-front.ts exec this file for the commands it emulates,
// answer `nix --version` themselves, and pass evaluation and builds straight to the real
// programs, which no version answers differently). The emulated version is $NIX_FRONT_PROFILE
// (profiles.json); what each version accepts and prints comes from its release notes and sources
// (test/fixtures/nix-versions/ names them):
// - `nix --version` answers as that version;
// - it accepts only the forms that version has (`--json-format` from 2.33, `config show` from 2.20,
//   `derivation show` from 2.15, `store info` from 2.20, ...) and refuses the others with Nix's
//   usage error;
// - a form that version deprecates prints that version's warning, and (unless NIX_FRONT_STRICT=0)
//   then fails with exit status 86: a test that runs nixcache through it fails if nixcache calls
//   Nix in a deprecated form. Every call is logged to $NIX_FRONT_LOG (one JSON line each);
// - the real 2.8's JSON is rewritten into the version's shape (path-info array / keyed / format
//   1, 2, 3; derivation show keyed by path / by base name / v4; config show; store info), build
//   failures into its words, and the narinfo disk cache appears under its file name.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

const profiles = JSON.parse(readFileSync(new URL("./profiles.json", import.meta.url), "utf8"));
const [program, ...argv] = process.argv.slice(2);
const profileName = process.env.NIX_FRONT_PROFILE ?? "";
const p = profiles[profileName];
if (!p) {
  process.stderr.write(`nix-front: unknown profile ${JSON.stringify(profileName)}\n`);
  process.exit(97);
}
const real = path.join(process.env.NIX_FRONT_REAL ?? "/usr/bin", program);
const strict = process.env.NIX_FRONT_STRICT !== "0";
const STORE = "/nix/store";

const v = p.version;
const lix = p.implementation === "lix";
/** Nix (or Determinate Nix, whose CLI is that of its Nix version) at least maj.min. */
const ge = (maj, min) => !lix && (v[0] > maj || (v[0] === maj && v[1] >= min));
const caps = {
  jsonFormats: ge(2, 35) ? ["1", "2", "3"] : ge(2, 33) ? ["1", "2"] : [],
  pathInfo: lix ? "array+valid" : ge(2, 19) ? "keyed" : "array",
  configShow: lix || ge(2, 20),
  derivationShow: lix || ge(2, 15),
  drvShape: lix || !ge(2, 32) ? "path" : ge(2, 33) ? "v4" : "base",
  drvName: lix || ge(2, 15),
  drvMethod: !lix && ge(2, 24),
  storeInfo: ge(2, 20),
  storePingJson: lix || ge(2, 15),
  cannotBuild: ge(2, 30),
};

function diskCacheName() {
  let n = 6;
  if (p.implementation === "determinate") {
    const [a, b, c] = p.determinate;
    if (a > 3 || (a === 3 && b >= 16)) n = 8;
    else if (a === 3 && (b > 8 || (b === 8 && c >= 6))) n = 7;
  } else if (!lix) n = ge(2, 35) ? 8 : ge(2, 31) ? 7 : 6;
  return `binary-cache-v${n}.sqlite`;
}

function log(entry) {
  const file = process.env.NIX_FRONT_LOG;
  if (file) appendFileSync(file, `${JSON.stringify({ profile: profileName, program, argv, ...entry })}\n`);
}

function usage(msg) {
  log({ refused: msg });
  process.stderr.write(`error: ${msg}\nTry '${program} --help' for more information.\n`);
  process.exit(1);
}

function deprecated(warning) {
  log({ deprecated: warning });
  process.stderr.write(`warning: ${warning}\n`);
  if (strict) {
    process.stderr.write(`nix-front: ${p.text} was called in a deprecated form (NIX_FRONT_STRICT)\n`);
    process.exit(86);
  }
}

/** The real Nix writes binary-cache-v6.sqlite; the emulated one reads and writes its own name. */
function linkDiskCache() {
  const name = diskCacheName();
  if (name === "binary-cache-v6.sqlite" || !process.env.XDG_CACHE_HOME) return;
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "nix");
  mkdirSync(dir, { recursive: true });
  const link = path.join(dir, name);
  try {
    if (!existsSync(link)) symlinkSync("binary-cache-v6.sqlite", link);
  } catch {}
}

function passThrough(args, rewriteStderrLine) {
  linkDiskCache();
  const child = spawn(real, args, {
    stdio: ["inherit", "inherit", rewriteStderrLine ? "pipe" : "inherit"],
  });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  if (rewriteStderrLine) {
    let rest = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) process.stderr.write(`${rewriteStderrLine(l)}\n`);
    });
    child.stderr.on("end", () => {
      if (rest) process.stderr.write(rewriteStderrLine(rest));
    });
  }
  child.on("close", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

/** Runs the real Nix, rewrites its stdout (JSON) and exits as it did. */
function rewritten(args, rewrite) {
  linkDiskCache();
  const r = spawnSync(real, args, { stdio: ["inherit", "pipe", "inherit"], maxBuffer: 1 << 30 });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? "");
    process.exit(r.status ?? 1);
  }
  process.stdout.write(JSON.stringify(rewrite(JSON.parse(r.stdout.toString("utf8")))));
  process.exit(0);
}

// ---- shapes

const base = (s) => s.slice(STORE.length + 1);
const NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";

function nix32Decode(s) {
  const out = Buffer.alloc(Math.floor((s.length * 5) / 8));
  for (let n = 0; n < s.length; n++) {
    const digit = NIX32.indexOf(s[s.length - n - 1]);
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] |= (digit << j) & 0xff;
    if (i + 1 < out.length) out[i + 1] |= digit >> (8 - j);
  }
  return out;
}

/** `fixed:r:sha256:<nix32>` → `{method: "nar", hash: "sha256-<base64>"}` (format 2's `ca`). */
function structuredCa(text) {
  const m = /^(text|fixed):(r:|git:)?([a-z0-9]+):(.+)$/.exec(text);
  if (!m) throw new Error(`nix-front: content address ${text}`);
  const method = m[1] === "text" ? "text" : m[2] === "r:" ? "nar" : m[2] === "git:" ? "git" : "flat";
  return { method, hash: `${m[3]}-${nix32Decode(m[4]).toString("base64")}` };
}

const IMPURE_DEFAULTS = { ca: null, deriver: null, registrationTime: null, signatures: [], ultimate: false };

function pathInfo(arr, format) {
  if (caps.pathInfo === "array") return arr;
  if (caps.pathInfo === "array+valid") return arr.map((e) => (e.valid === false ? e : { ...e, valid: true }));
  const entries = arr.map((e) => {
    if (e.valid === false) return [e.path, null];
    const { path: _p, valid: _v, ...rest } = e;
    return [e.path, rest];
  });
  if (format === undefined) return Object.fromEntries(entries);
  if (format === "1")
    return Object.fromEntries(
      entries.map(([k, e]) => [k, e && { ...IMPURE_DEFAULTS, ...e, storeDir: STORE, version: 1 }]),
    );
  const info = Object.fromEntries(
    entries.map(([k, e]) => [
      base(k),
      e && {
        ...IMPURE_DEFAULTS,
        ...e,
        references: (e.references ?? []).map(base),
        deriver: e.deriver ? base(e.deriver) : null,
        ca: e.ca ? structuredCa(e.ca) : null,
        signatures: (e.signatures ?? []).map((s) =>
          format === "3" ? { keyName: s.slice(0, s.indexOf(":")), sig: s.slice(s.indexOf(":") + 1) } : s,
        ),
        storeDir: STORE,
        version: Number(format),
      },
    ]),
  );
  return { version: Number(format), storeDir: STORE, info };
}

function configShow(obj) {
  const out = {};
  for (const [k, s] of Object.entries(obj))
    out[k] = caps.configShow && !("experimentalFeature" in s) ? { ...s, experimentalFeature: null } : s;
  const setting = (value, description) => ({
    aliases: [],
    defaultValue: value,
    description,
    documentDefault: true,
    experimentalFeature: null,
    value,
  });
  if (ge(2, 19))
    out["always-allow-substitutes"] = setting(
      false,
      "Whether to allow substitutes even when a derivation asks not to.\n",
    );
  if (ge(2, 34))
    out["narinfo-cache-meta-ttl"] = setting(
      604800,
      "The TTL in seconds for caching binary cache metadata.\n",
    );
  return out;
}

const sri = (algo, hex) => `${algo}-${Buffer.from(hex, "hex").toString("base64")}`;

function derivationOutput(o) {
  if (!o.hashAlgo) return caps.drvShape === "path" ? o : { path: base(o.path) };
  const nar = o.hashAlgo.startsWith("r:");
  const algo = o.hashAlgo.replace(/^r:/, "");
  const method = nar ? "nar" : "flat";
  if (caps.drvShape === "path")
    return caps.drvMethod ? { hash: o.hash, hashAlgo: algo, method, path: o.path } : o;
  if (caps.drvShape === "base") return { hash: o.hash, hashAlgo: algo, method };
  return { hash: sri(algo, o.hash), method };
}

function derivationShow(obj) {
  const drvs = {};
  for (const [k, d] of Object.entries(obj)) {
    const e = { ...d };
    if (caps.drvName) e.name = d.env?.name;
    e.outputs = Object.fromEntries(Object.entries(d.outputs).map(([n, o]) => [n, derivationOutput(o)]));
    if (caps.drvShape === "path") {
      drvs[k] = e;
      continue;
    }
    const srcs = d.inputSrcs.map(base);
    const inDrvs = Object.fromEntries(
      Object.entries(d.inputDrvs).map(([dk, outs]) => [base(dk), { dynamicOutputs: {}, outputs: outs }]),
    );
    delete e.inputSrcs;
    delete e.inputDrvs;
    if (caps.drvShape === "base") Object.assign(e, { inputSrcs: srcs, inputDrvs: inDrvs, version: 3 });
    else Object.assign(e, { inputs: { srcs, drvs: inDrvs }, version: 4 });
    drvs[base(k)] = e;
  }
  return caps.drvShape === "v4" ? { version: 4, derivations: drvs } : drvs;
}

function storeTrust(rest) {
  if (!rest.includes("--json"))
    return passThrough(["--extra-experimental-features", "nix-command", "store", "ping"]);
  log({});
  const trusted = process.env.NIX_FRONT_TRUSTED === "0" ? 0 : 1;
  process.stdout.write(`${JSON.stringify({ trusted, url: "local", version: v.join(".") })}\n`);
  process.exit(0);
}

// ---- the build failure words of Nix 2.30+ (src/libstore/build/derivation-building-goal.cc)

const M = "\x1b[35;1m";
const R = "\x1b[31;1m";
const N = "\x1b[0m";

function newBuildWords(text) {
  const esc = "(?:\\x1b\\[[0-9;]*m)?";
  let t = text.replace(
    new RegExp(`builder for '${esc}([^'\\x1b]+\\.drv)${esc}' failed with exit code (\\d+)`),
    (_m, drv, code) =>
      `Cannot build '${M}${drv}${N}'.\n       Reason: ${R}builder failed with exit code ${code}${N}.`,
  );
  t = t.replace(
    new RegExp(`(\\d+) dependencies of derivation '${esc}([^'\\x1b]+\\.drv)${esc}' failed to build`),
    (_m, n, drv) =>
      `Cannot build '${M}${drv}${N}'.\n       Reason: ${R}${n} ${n === "1" ? "dependency" : "dependencies"} failed${N}.`,
  );
  return t;
}

function rewriteBuildLine(line) {
  if (!line.startsWith("@nix ")) return newBuildWords(line);
  let m;
  try {
    m = JSON.parse(line.slice(5));
  } catch {
    return line;
  }
  if (m.action !== "msg" || typeof m.msg !== "string") return line;
  m.msg = newBuildWords(m.msg);
  if (typeof m.raw_msg === "string") m.raw_msg = newBuildWords(m.raw_msg);
  return `@nix ${JSON.stringify(m)}`;
}

// ---- dispatch

if (program === "nix-store") {
  log({});
  const internalJson = argv.includes("internal-json") && (argv.includes("--realise") || argv.includes("-r"));
  passThrough(argv, caps.cannotBuild && internalJson ? rewriteBuildLine : undefined);
} else {
  let i = 0;
  const pre = [];
  while (i < argv.length && argv[i].startsWith("-")) {
    const a = argv[i];
    if (a === "--version") {
      log({});
      process.stdout.write(`${p.text}\n`);
      process.exit(0);
    }
    const arity =
      a === "--option"
        ? 2
        : ["--extra-experimental-features", "--experimental-features", "--log-format", "--store"].includes(a)
          ? 1
          : 0;
    pre.push(...argv.slice(i, i + 1 + arity));
    i += 1 + arity;
  }
  const cmd = argv[i];
  const rest = argv.slice(i + 1);
  if (cmd === "path-info" && rest.includes("--json")) {
    const at = rest.indexOf("--json-format");
    let format;
    if (at >= 0) {
      format = rest[at + 1];
      if (caps.jsonFormats.length === 0) usage("unrecognised flag '--json-format'");
      if (!caps.jsonFormats.includes(format)) usage(`unsupported path info JSON format version ${format}`);
      rest.splice(at, 2);
    } else if (caps.jsonFormats.length > 0) {
      deprecated(
        "'--json' without '--json-format' is deprecated; please specify '--json-format 1' or '--json-format 2'. This will become an error in a future release.",
      );
      format = "1";
    }
    log({});
    rewritten([...pre, "path-info", ...rest], (arr) => pathInfo(arr, format));
  } else if (cmd === "show-config" || (cmd === "config" && rest[0] === "show")) {
    if (cmd === "config" && !caps.configShow) usage("'config' is not a recognised command");
    if (cmd === "show-config" && caps.configShow)
      deprecated("'show-config' is a deprecated alias for 'config show'");
    log({});
    rewritten([...pre, "show-config", ...(cmd === "config" ? rest.slice(1) : rest)], configShow);
  } else if (cmd === "show-derivation" || (cmd === "derivation" && rest[0] === "show")) {
    if (cmd === "derivation" && !caps.derivationShow) usage("'derivation' is not a recognised command");
    if (cmd === "show-derivation" && caps.derivationShow)
      deprecated("'show-derivation' is a deprecated alias for 'derivation show'");
    log({});
    rewritten([...pre, "show-derivation", ...(cmd === "derivation" ? rest.slice(1) : rest)], derivationShow);
  } else if (cmd === "store" && (rest[0] === "info" || rest[0] === "ping")) {
    if (rest[0] === "info" && !caps.storeInfo) usage("'info' is not a recognised command");
    if (rest[0] === "ping" && caps.storeInfo)
      deprecated("'nix store ping' is a deprecated alias for 'nix store info'");
    if (rest.includes("--json") && !caps.storePingJson) usage("unrecognised flag '--json'");
    storeTrust(rest);
  } else {
    log({});
    passThrough(argv);
  }
}
