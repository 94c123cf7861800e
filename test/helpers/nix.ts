import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Fails (never skips) when Nix is missing: the conformance tests are the point of the suite, and
 * `scripts/setup-nix.sh` installs Nix, so its absence is a broken set-up.
 */
export function requireNix(): void {
  const r = spawnSync("nix-store", ["--version"], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(
      "real Nix (nix-store) is required for this test; run `bash scripts/setup-nix.sh` (as root)",
    );
  }
}

/** Runs a Nix program synchronously and returns stdout; throws with stderr on failure. */
export function nixSync(program: string, args: string[], input?: string | Buffer): Buffer {
  try {
    return execFileSync(program, args, { input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${program} ${args.join(" ")} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

/**
 * Runs a Nix program without blocking the event loop: needed whenever the server Nix talks to
 * runs in the test's own process.
 */
export function nixAsync(
  program: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onStart?: (pid: number) => void } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(program, args, { env: opts.env ?? process.env }, (err, _stdout, stderr) =>
      err ? reject(new Error(`${program} ${args.join(" ")} failed: ${stderr}`)) : resolve(),
    );
    if (child.pid !== undefined) opts.onStart?.(child.pid);
  });
}

/** Nix's narinfo disk cache in a fresh directory under `dir`: each call sees the server afresh. */
export function freshNixEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, XDG_CACHE_HOME: mkdtempSync(join(dir, "xdg-")) };
}

export function tempDir(prefix = "nixcache-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Builds an input-addressed store path offline (builder /bin/sh, no inputs) and returns it.
 * `name` makes it unique; `script` writes $out. Not registered as a GC root.
 */
export function buildTrivial(name: string, script = 'echo "$name" > $out'): string {
  const expr = `derivation { name = ${JSON.stringify(name)}; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" ${JSON.stringify(script)} ]; PATH = "/usr/bin:/bin"; }`;
  return nixSync("nix-build", ["--no-out-link", "-E", expr]).toString().trim();
}
