// A real S3 endpoint for tests: NIXCACHE_TEST_S3 (an endpoint URL) when set, else a one-node
// Swift with s3api started by scripts/swift.sh, once per test process and stopped when it exits.
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/swift.sh", import.meta.url));

let started: Promise<{ endpoint: string; dir?: string }> | undefined;

function script(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("bash", [SCRIPT, ...args], { encoding: "utf8" }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`swift.sh ${args.join(" ")} failed: ${stderr || err.message}`))
        : resolve(stdout),
    ),
  );
}

function start(): Promise<{ endpoint: string; dir?: string }> {
  started ??= (async () => {
    const given = process.env.NIXCACHE_TEST_S3;
    if (given) return { endpoint: given.replace(/\/+$/, "") };
    const dir = mkdtempSync(join(tmpdir(), "nixcache-swift-"));
    // Synchronous on purpose: an exit handler can run nothing else.
    process.on("exit", () => {
      spawnSync("bash", [SCRIPT, "stop", dir], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    });
    const endpoint = (await script(["start", dir])).trim();
    return { endpoint, dir };
  })();
  return started;
}

/** The S3 endpoint (http://127.0.0.1:PORT); the S3 credentials are set in process.env. */
export async function s3Endpoint(): Promise<string> {
  const s = await start();
  // Swift's tempauth user (scripts/swift.sh), read by the SDK's default chain; an external
  // endpoint may come with credentials of its own.
  if (s.dir || !process.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID = "test:tester";
    process.env.AWS_SECRET_ACCESS_KEY = "testing";
  }
  return s.endpoint;
}

/** A `--storage` URL of a bucket no other test uses. */
export async function freshStorageUrl(prefix = ""): Promise<string> {
  const endpoint = await s3Endpoint();
  const bucket = `nixcache-test-${randomBytes(6).toString("hex")}`;
  const q = new URLSearchParams({ endpoint, region: "us-east-1", "path-style": "1" });
  return `s3://${bucket}${prefix ? `/${prefix}` : ""}?${q}`;
}

/**
 * The Swift this process started (undefined with NIXCACHE_TEST_S3): its object server can be
 * stopped and started again, for fault tests.
 */
export async function localSwift(): Promise<
  { stopObject(): Promise<void>; startObject(): Promise<void> } | undefined
> {
  const { dir } = await start();
  if (!dir) return undefined;
  return {
    stopObject: async () => {
      await script(["stop-object", dir]);
    },
    startObject: async () => {
      await script(["start-object", dir]);
    },
  };
}
