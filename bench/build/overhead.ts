// bench/build/overhead.ts: what a nixcache run costs beyond Nix's own work, on a small offline
// flake whose targets evaluate in ~0.4 s. Three cases, each timed as whole processes, the commands
// of a case in turn (A B C A B C …, the order reversed every other round) so that a ratio is taken
// within one round while the machine's speed drifts:
//   start-up  `nixcache --version`, beside `node -e 0`
//   warm      `nixcache build --push` with every target built and already in the cache,
//             against `nixcache targets` on the same flake (evaluation only)
//   cold      `nixcache build --push` against `nix build` of the same targets, each run on new
//             derivations (a new salt in the flake), the outputs deleted afterwards (untimed)
// CLIS="before=/path/to/old/checkout after=." times several checkouts in the same rounds (each
// must be built: dist/). All pushes go to one `nixcache serve` (this checkout's) on loopback.
// Usage: node --import tsx bench/build/overhead.ts  (RUNS=7 CASES=startup,warm,cold EVAL_WORK=N)
// Writes the "## Overhead" section of bench/build/RESULTS.md; every run in bench/out/build-overhead.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

const root = path.resolve(import.meta.dirname, "../..");
const out = path.join(root, "bench/out/build-overhead");
const RUNS = Number(process.env.RUNS ?? 7);
const CASES = (process.env.CASES ?? "startup,warm,cold").split(",");
// Sized so that evaluating the target set takes ~0.4 s here (`nix eval` of every drvPath).
const EVAL_WORK = Number(process.env.EVAL_WORK ?? 35000);
// Loop iterations per target build: about 0.75 s of CPU per million here.
const LOOPS = Number(process.env.BUILD_LOOPS ?? 1200000);
const PACKAGES = 6;
const CHECKS = 2;
const CLIS = (process.env.CLIS ?? "after=.")
  .split(/\s+/)
  .filter(Boolean)
  .map((s) => {
    const [label, dir] = s.split("=");
    if (!label || !dir) throw new Error(`CLIS: "${s}" is not label=dir`);
    return { label, bin: path.resolve(root, dir, "bin/nixcache") };
  });

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NIX_CONFIG: "substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false\nmax-jobs = 2",
};
const system = execFileSync("nix", ["eval", "--impure", "--raw", "--expr", "builtins.currentSystem"], {
  env,
  encoding: "utf8",
});

/**
 * The flake: PACKAGES packages and CHECKS checks over one library, builder /bin/sh, no inputs.
 * `packages.all` depends on all of them, so `nix build …#all` evaluates once (Nix 2.8 evaluates
 * the flake again for every installable) and builds what nixcache builds. The attribute set every
 * derivation reads is the evaluation work; SALT makes every store path new.
 */
function writeFlake(dir: string, salt: string): void {
  const work = (loops: number, kib: number) =>
    `i=0; while [ $i -lt ${loops} ]; do i=$((i+1)); done; mkdir -p $out; ` +
    `head -c ${kib * 512} /dev/urandom > $out/blob; seq 1 10000000 | head -c ${kib * 512} > $out/text; echo $deps > $out/deps`;
  const pkgs = Array.from(
    { length: PACKAGES },
    (_, i) => `t${i} = mk "ov-t${i}" ${JSON.stringify(work(LOOPS, 2048 + i * 512))} [ lib ];`,
  );
  const checks = Array.from(
    { length: CHECKS },
    (_, i) => `c${i} = mk "ov-c${i}" ${JSON.stringify(work(LOOPS / 2, 256))} [ pkgs.t${i} ];`,
  );
  const flake = `{
  outputs = { self }: let
    pkgset = builtins.listToAttrs (map (i: { name = "p\${toString i}"; value = { v = i * 2; }; })
      (builtins.genList (x: x) ${EVAL_WORK}));
    evalSum = toString (builtins.foldl' (a: n: a + pkgset.\${n}.v) 0 (builtins.attrNames pkgset));
    mk = name: script: deps: derivation {
      inherit name deps;
      system = "${system}";
      builder = "/bin/sh";
      args = [ "-c" script ];
      PATH = "/usr/bin:/bin";
      SALT = "${salt}";
      EVAL = evalSum;
    };
    lib = mk "ov-lib" ${JSON.stringify(work(LOOPS / 2, 4096))} [ ];
    pkgs = {
      ${pkgs.join("\n      ")}
    };
    checks = {
      ${checks.join("\n      ")}
    };
  in {
    packages.${system} = pkgs // {
      all = mk "ov-all" "mkdir $out; echo $deps > $out/deps" (builtins.attrValues pkgs ++ builtins.attrValues checks);
    };
    checks.${system} = checks;
  };
}
`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "flake.nix"), flake);
}

/** Runs a command to completion, its output to `log`; throws on a non-zero exit. */
function run(cmd: string[], log: string): number {
  const fd = openSync(log, "w");
  const t0 = performance.now();
  const r = spawnSync(cmd[0] as string, cmd.slice(1), { env, stdio: ["ignore", fd, fd] });
  const s = (performance.now() - t0) / 1000;
  closeSync(fd);
  if (r.status !== 0) {
    process.stderr.write(
      `FAILED (${r.status ?? r.signal}): ${cmd.join(" ")}\n${readFileSync(log, "utf8").slice(-3000)}\n`,
    );
    process.exit(1);
  }
  return s;
}

interface Cmd {
  label: string;
  argv: () => string[];
  /** Untimed, before each run (a new flake). */
  before?: () => void;
  /** Untimed, after each run: a check of its output, clean-up. */
  after?: (log: string) => void;
}

/** Times `cmds` in turn for RUNS rounds after one warm-up round; returns each one's times. */
function rounds(name: string, cmds: Cmd[]): Map<string, number[]> {
  const times = new Map(cmds.map((c) => [c.label, [] as number[]]));
  for (let r = 0; r <= RUNS; r++) {
    const order = r % 2 === 0 ? cmds : [...cmds].reverse();
    for (const c of order) {
      c.before?.();
      const log = path.join(out, `${name}-${c.label}-${r}.log`.replace(/[^\w.-]/g, "_"));
      const s = run(c.argv(), log);
      c.after?.(log);
      if (r > 0) times.get(c.label)?.push(s);
    }
    process.stderr.write(
      `${name} round ${r}${r === 0 ? " (warm-up)" : ""}: ${order.map((c) => `${c.label} ${times.get(c.label)?.at(-1)?.toFixed(3) ?? "-"}`).join(", ")}\n`,
    );
  }
  writeFileSync(path.join(out, `${name}-times.json`), JSON.stringify(Object.fromEntries(times), null, 1));
  return times;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (xs: readonly number[]) =>
  `${median(xs).toFixed(3)} | ${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
/** The median of the round-by-round ratios a/b. */
const ratio = (a: readonly number[], b: readonly number[]) => median(a.map((x, i) => x / (b[i] as number)));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const self = path.join(root, "bin/nixcache");
const data = path.join(out, "data");
run(["node", self, "cache", "create", "main", "--data", data], path.join(out, "cache-create.log"));
run(
  ["node", self, "token", "create", "--data", data, "--cache", "main", "--perm", "write"],
  path.join(out, "token.log"),
);
env.NIXCACHE_TOKEN = readFileSync(path.join(out, "token.log"), "utf8").trim();
const port = 30000 + Math.floor(Math.random() * 20000);
const server: ChildProcess = spawn(
  "node",
  [self, "serve", "--data", data, "--listen", `127.0.0.1:${port}`, "--quiet"],
  {
    env,
    stdio: "ignore",
  },
);
process.on("exit", () => server.kill());
const cache = `http://127.0.0.1:${port}/main`;
for (let i = 0; ; i++) {
  if (spawnSync("curl", ["-fsS", `http://127.0.0.1:${port}/healthz`], { stdio: "ignore" }).status === 0)
    break;
  if (i > 100) throw new Error("the server did not start");
  await new Promise((r) => setTimeout(r, 100));
}

/** With several checkouts: each one's `build --push` against the first's, round by round. */
const against = (name: string, t: Map<string, number[]>) =>
  CLIS.slice(1).map((c) => {
    const base = CLIS[0]?.label;
    const r = ratio(
      t.get(`${c.label}: nixcache build --push`) ?? [],
      t.get(`${base}: nixcache build --push`) ?? [],
    );
    return `- **${name}, ${c.label} / ${base}:** \`nixcache build --push\` = **${r.toFixed(3)}×**`;
  });
const rows: string[] = [];
const ratios: string[] = [];
const nixEval = (flake: string) => [
  "nix",
  "eval",
  "--json",
  `path:${flake}#checks.${system}`,
  "--apply",
  "builtins.mapAttrs (n: v: v.drvPath)",
];

if (CASES.includes("startup")) {
  const t = rounds("startup", [
    { label: "node -e 0", argv: () => ["node", "-e", "0"] },
    ...CLIS.map((c) => ({
      label: `${c.label}: nixcache --version`,
      argv: () => ["node", c.bin, "--version"],
    })),
  ]);
  for (const [label, xs] of t) rows.push(`| start-up | \`${label}\` | ${fmt(xs)} |`);
}

if (CASES.includes("warm")) {
  const flake = path.join(out, "warm-flake");
  writeFlake(flake, `warm-${Date.now()}`);
  // Build and push everything once; every timed build then finds all of it in the cache.
  run(["node", self, "build", "--flake", `path:${flake}`, "--push", cache], path.join(out, "warm-setup.log"));
  const allCached = (log: string) => {
    if (!readFileSync(log, "utf8").includes("already cached, 0 to build")) {
      process.stderr.write(`warm build was not all cached: ${log}\n`);
      process.exit(1);
    }
  };
  const t = rounds("warm", [
    { label: "nix eval (the checks' drvPaths)", argv: () => nixEval(flake) },
    ...CLIS.flatMap((c): Cmd[] => [
      {
        label: `${c.label}: nixcache targets`,
        argv: () => ["node", c.bin, "targets", "--flake", `path:${flake}`],
      },
      {
        label: `${c.label}: nixcache build --push`,
        argv: () => ["node", c.bin, "build", "--flake", `path:${flake}`, "--push", cache],
        after: allCached,
      },
    ]),
  ]);
  for (const [label, xs] of t) rows.push(`| warm | \`${label}\` | ${fmt(xs)} |`);
  for (const c of CLIS) {
    const r = ratio(
      t.get(`${c.label}: nixcache build --push`) ?? [],
      t.get(`${c.label}: nixcache targets`) ?? [],
    );
    ratios.push(
      `- **warm, ${c.label}:** \`nixcache build --push\` / \`nixcache targets\` = **${r.toFixed(3)}×** (goal ≤ 1.5×)`,
    );
  }
  ratios.push(...against("warm", t));
}

if (CASES.includes("cold")) {
  let n = 0;
  let flake = "";
  const fresh = () => {
    flake = path.join(out, `cold-flake-${n++}`);
    writeFlake(flake, `cold-${Date.now()}-${n}`);
  };
  // The outputs go after each run, so the store does not grow with the rounds.
  const drop = () => {
    const outs = execFileSync("nix", ["eval", "--raw", `path:${flake}#packages.${system}.all.outPath`], {
      env,
      encoding: "utf8",
    });
    const closure = spawnSync("nix-store", ["-qR", outs], { env, encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean);
    if (closure.length > 0) spawnSync("nix-store", ["--delete", ...closure], { env, stdio: "ignore" });
  };
  const t = rounds("cold", [
    {
      label: "nix build …#all",
      argv: () => ["nix", "build", "--no-link", `path:${flake}#packages.${system}.all`],
      before: fresh,
      after: drop,
    },
    ...CLIS.map((c) => ({
      label: `${c.label}: nixcache build --push`,
      argv: () => ["node", c.bin, "build", "--flake", `path:${flake}`, "--push", cache],
      before: fresh,
      after: drop,
    })),
  ]);
  for (const [label, xs] of t) rows.push(`| cold | \`${label}\` | ${fmt(xs)} |`);
  for (const c of CLIS) {
    const r = ratio(t.get(`${c.label}: nixcache build --push`) ?? [], t.get("nix build …#all") ?? []);
    ratios.push(
      `- **cold, ${c.label}:** \`nixcache build --push\` / \`nix build\` = **${r.toFixed(3)}×** (goal ≤ 1.08×)`,
    );
  }
  ratios.push(...against("cold", t));
}

/** A checkout by path and commit: where a CLIS entry's binary comes from. */
const checkout = (bin: string) => {
  const dir = path.dirname(path.dirname(bin));
  const at = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: dir, encoding: "utf8" }).trim();
  return `${path.relative(root, dir) || "this checkout"} (${at})`;
};
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
const section = `## Overhead: what a run costs beyond Nix's own work

\`bench/build/overhead.ts\`: an offline flake (${PACKAGES} packages and ${CHECKS} checks over one library,
builder /bin/sh, ~2-5 MiB each, EVAL_WORK=${EVAL_WORK} so the targets evaluate in ~0.4 s), one
\`nixcache serve\` on loopback, \`substituters =\` empty, \`max-jobs = 2\`. ${RUNS} rounds after a warm-up, the
commands of a case in turn (order reversed every other round); wall seconds of the whole process;
ratios are the median of the round-by-round ratios. Cold: new derivations every run, and
\`nix build\` of one installable (\`packages.all\`, which depends on every target) so that Nix
evaluates once, as nixcache does. ${new Date().toISOString().slice(0, 10)}, commit ${commit},
${CLIS.map((c) => `${c.label} = ${checkout(c.bin)}`).join(", ")};
${cpus().length} cores, ${execFileSync("nix", ["--version"], { encoding: "utf8" }).trim()}, load average at the end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}.

| case | command | wall s, median | min–max |
|---|---|---|---|
${rows.join("\n")}

${ratios.join("\n")}

Rerun: \`node --import tsx bench/build/overhead.ts\` (\`CLIS="before=../old-checkout after=."\`, RUNS=N,
CASES=startup,warm,cold).
`;
const resultsFile = path.join(root, "bench/build/RESULTS.md");
const results = readFileSync(resultsFile, "utf8");
const start = results.indexOf("## Overhead");
const next = start < 0 ? -1 : results.indexOf("\n## ", start + 1);
const notes = results.indexOf("## Notes");
const updated =
  start >= 0
    ? results.slice(0, start) + section + (next >= 0 ? results.slice(next) : "")
    : notes >= 0
      ? `${results.slice(0, notes)}${section}\n${results.slice(notes)}`
      : `${results}\n${section}`;
writeFileSync(resultsFile, updated);
process.stdout.write(section);
server.kill();
process.exit(0);
