// Writes the bench/build flake: TARGETS packages for this system, each doing some CPU work (as a
// compile does) and writing 10-24 MiB, over two shared libraries. NONCE makes every store path
// new, so a "cold" round really builds and pushes everything.
// Usage: node --import tsx bench/build/gen-flake.ts OUTDIR SYSTEM NONCE [TARGETS]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [outDir, system, nonce, count] = process.argv.slice(2);
if (!outDir || !system || !nonce) {
  process.stderr.write("usage: gen-flake.ts OUTDIR SYSTEM NONCE [TARGETS]\n");
  process.exit(2);
}
const targets = Number(count ?? 12);
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
  pkgs.push(`t${i} = mk "bb-t${i}" ${JSON.stringify(work(250000 + i * 20000, bytes))} ${deps};`);
}
const flake = `{
  outputs = { self }: let
    mk = name: script: deps: derivation {
      inherit name deps;
      system = "${system}";
      builder = "/bin/sh";
      args = [ "-c" script ];
      PATH = "/usr/bin:/bin";
      NONCE = "${nonce}";
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
