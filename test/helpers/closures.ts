// Shared by the push and cache tests (test/unit/push/, test/unit/caches/, test/e2e/cli/push.test.ts): tiny closures built with real Nix.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

export const NIX_ENV = {
  ...process.env,
  NIX_CONFIG: "substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false",
};

export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  const p = exec(cmd, args, { env: NIX_ENV, maxBuffer: 64 << 20 });
  if (input !== undefined) {
    p.child.stdin?.end(input);
  }
  return (await p).stdout;
}

export interface TestClosure {
  /** Referenced by mid. */
  leaf: string;
  /** A directory with files, an executable and a symlink; referenced by top. */
  tree: string;
  mid: string;
  top: string;
  /** Not referenced by anything else here. */
  lone: string;
  /** Dependencies first. */
  all: string[];
}

/** Builds a fresh 5-path closure (unique per call) with nix-build, no GC roots. */
export async function buildClosure(): Promise<TestClosure> {
  const nonce = randomBytes(8).toString("hex");
  const drv = (name: string, script: string, deps = "") =>
    `derivation { name = "${name}"; system = builtins.currentSystem; builder = "/bin/sh"; ` +
    `args = ["-c" ''${script}'']; PATH = "/usr/bin:/bin"; nonce = "${nonce}"; ${deps} }`;
  const expr = `
    let
      leaf = ${drv("leaf", `echo leaf-${nonce} > $out`)};
      tree = ${drv(
        "tree",
        "mkdir -p $out/bin $out/share; echo '#!/bin/sh' > $out/bin/run; chmod +x $out/bin/run; " +
          "head -c 300000 /dev/urandom > $out/share/blob; seq 1 20000 > $out/share/numbers; ln -s ../share/numbers $out/bin/link",
      )};
      mid = ${drv("mid", "mkdir $out; echo $leaf > $out/ref; echo self $out > $out/self", "inherit leaf;")};
      top = ${drv("top", "mkdir $out; echo $mid $tree > $out/refs", "inherit mid tree;")};
      lone = ${drv("lone", `echo lone-${nonce} > $out`)};
    in [ leaf tree mid top lone ]`;
  const out = await sh("nix-build", ["--no-out-link", "-E", expr]);
  const [leaf, tree, mid, top, lone] = out.trim().split("\n") as [string, string, string, string, string];
  return { leaf, tree, mid, top, lone, all: [leaf, tree, mid, top, lone] };
}

/** Deletes store paths (dependents first); ignores paths something else still holds. */
export async function deletePaths(paths: readonly string[]): Promise<void> {
  for (const p of [...paths].reverse()) {
    await sh("nix-store", ["--delete", p]).catch(() => {});
  }
}

export async function isValid(path: string): Promise<boolean> {
  try {
    await sh("nix-store", ["--check-validity", path]);
    return true;
  } catch {
    return false;
  }
}

/** Substitutes `path` from `cache` with real Nix, trusting only `publicKey`. */
export async function substitute(path: string, cache: string, publicKey: string): Promise<void> {
  await sh("nix-store", [
    "-r",
    path,
    "--option",
    "substituters",
    cache,
    "--option",
    "trusted-public-keys",
    publicKey,
  ]);
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function generateKey(
  dir: string,
  name: string,
): Promise<{ secretFile: string; publicKey: string }> {
  const secretFile = join(dir, `${name}.sec`);
  const pub = join(dir, `${name}.pub`);
  await sh("nix-store", ["--generate-binary-cache-key", name, secretFile, pub]);
  const { readFile } = await import("node:fs/promises");
  return { secretFile, publicKey: (await readFile(pub, "utf8")).trim() };
}
