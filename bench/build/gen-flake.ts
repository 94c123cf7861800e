// Writes the bench/build flake: TARGETS packages for this system, each doing some CPU work (as a
// compile does) and writing 10-24 MiB, over two shared libraries. NONCE makes every store path
// new, so a "cold" round really builds and pushes everything.
// EVAL_WORK (default 400000) sizes an attribute set every target's derivation depends on, so that
// evaluating the flake costs about as much as a small nixpkgs-based flake (~1 s); 0 turns it off.
// Usage: node --import tsx bench/build/gen-flake.ts OUTDIR SYSTEM NONCE [TARGETS]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [outDir, system, nonce, count] = process.argv.slice(2);
if (!outDir || !system || !nonce) {
  process.stderr.write("usage: gen-flake.ts OUTDIR SYSTEM NONCE [TARGETS]\n");
  process.exit(2);
}
const targets = Number(count ?? 12);
const evalWork = Number(process.env.EVAL_WORK ?? 400000);
// Loop iterations per target build: about 0.75 s of CPU per million here.
const loops = Number(process.env.BUILD_LOOPS ?? 2500000);
const MiB = 1024 * 1024;
// Work: a shell loop (CPU), then part random, part compressible output, like a binary.
const work = (loops: number, bytes: number) =>
  `i=0; while [ $i -lt ${loops} ]; do i=$((i+1)); done; mkdir -p $out/lib; ` +
  `head -c ${Math.floor(bytes / 2)} /dev/urandom > $out/lib/blob; seq 1 100000000 | head -c ${Math.ceil(bytes / 2)} > $out/lib/text; echo $deps > $out/deps`;
const lines: string[] = [];
lines.push(`libA = mk "bb-libA" ${JSON.stringify(work(150000, 16 * MiB))} [ ];`);
lines.push(`libB = mk "bb-libB" ${JSON.stringify(work(150000, 16 * MiB))} [ libA ];`);
const pkgs: string[] = [];
for (let i = 0; i < targets; i++) {
  const bytes = (10 + ((i * 7) % 15)) * MiB;
  const deps = i % 2 === 0 ? "[ libA ]" : "[ libA libB ]";
  pkgs.push(`t${i} = mk "bb-t${i}" ${JSON.stringify(work(loops + i * 50000, bytes))} ${deps};`);
}
const flake = `{
  outputs = { self }: let
    pkgset = builtins.listToAttrs (map (i: { name = "p\${toString i}"; value = { v = i * 2; }; })
      (builtins.genList (x: x) ${evalWork}));
    evalSum = toString (builtins.foldl' (a: n: a + pkgset.\${n}.v) 0 (builtins.attrNames pkgset));
    mk = name: script: deps: derivation {
      inherit name deps;
      system = "${system}";
      builder = "/bin/sh";
      args = [ "-c" script ];
      PATH = "/usr/bin:/bin";
      NONCE = "${nonce}";
      EVAL = evalSum;
    };
    ${lines.join("\n    ")}
  in {
    packages.${system} = {
      ${pkgs.join("\n      ")}
    };
  };
}
`;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "flake.nix"), flake);
