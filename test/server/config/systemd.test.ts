// nixcache serve under systemd, without systemd as PID 1 (scripts/setup-systemd.sh installs the
// tools): the units pass `systemd-analyze verify`; `systemd-socket-activate` hands the server a
// listening socket it serves on; the notify protocol (READY=1, WATCHDOG=1, STOPPING=1) arrives at
// a datagram socket of the test's (python3: Node has none); SIGTERM lets an in-flight upload
// finish and commit.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { nix32Encode } from "../../../src/nix/nix32.js";
import { adminCreateCache, adminCreateToken } from "../../../src/server/admin.js";
import { openMetadata } from "../../../src/server/state-location.js";
import { activationSocket, watchdogIntervalMs } from "../../../src/server/systemd.js";
import { NIXCACHE_BIN } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/nix.js";
import { stagedUploads, until } from "../../helpers/serve.js";
import { makeNar } from "../../helpers/uploads.js";

const run = promisify(execFile);
const UNITS = new URL("../../../contrib/systemd/", import.meta.url);

/** A unix datagram socket that collects what is sent to it (python3: Node cannot bind one). */
class NotifySocket {
  readonly messages: string[] = [];
  private readonly child: ChildProcess;
  readonly ready: Promise<void>;

  constructor(readonly path: string) {
    const script = [
      "import json, socket, sys",
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
      "s.bind(sys.argv[1])",
      'print("bound", flush=True)',
      "while True:",
      // recv without ancillary data: an fd passed with BARRIER=1 is closed, which releases it.
      "    print(json.dumps(s.recv(65536).decode()), flush=True)",
    ].join("\n");
    this.child = spawn("python3", ["-c", script, path], { stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    this.ready = new Promise((resolve, reject) => {
      this.child.on("exit", (c) => reject(new Error(`the notify socket's python3 exited (${c})`)));
      this.child.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === "bound") resolve();
          else this.messages.push(JSON.parse(line) as string);
          nl = buf.indexOf("\n");
        }
      });
    });
  }

  /** The messages with this assignment (one message: its `KEY=value` lines). */
  with(assignment: string): string[] {
    return this.messages.filter((m) => m.split("\n").includes(assignment));
  }

  close(): void {
    this.child.kill("SIGKILL");
  }
}

/** A TCP port nothing listens on now (systemd-socket-activate takes no port 0). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

interface Activated {
  child: ChildProcess;
  url: string;
  /** The request that started the server (systemd-socket-activate waits for a connection). */
  first: Promise<Response>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * `systemd-socket-activate -l 127.0.0.1:PORT nixcache serve …`: it listens, and at the first
 * connection execs the server with LISTEN_FDS=1 (fd 3), LISTEN_PID and only the variables passed
 * with -E. That connection waits in the socket's backlog until the server accepts it.
 */
async function activate(
  port: number,
  env: Record<string, string>,
  args: string[],
  firstPath = "/nix-cache-info",
): Promise<Activated> {
  const sets = ["PATH", ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].flatMap((e) => ["-E", e]);
  const child = spawn(
    "systemd-socket-activate",
    ["-l", `127.0.0.1:${port}`, ...sets, process.execPath, NIXCACHE_BIN, "serve", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  try {
    await until("systemd-socket-activate listens", () => gone || /^Listening on /m.test(err), 200);
    assert.ok(!gone, err);
    const first = fetch(`http://127.0.0.1:${port}${firstPath}`);
    first.catch(() => {});
    await until("the server says where it listens", () => gone || /^listening on /m.test(out), 400);
    const url = /^listening on (http:\/\/\S+)$/m.exec(out)?.[1];
    assert.ok(url, `no listening line: ${out}\n${err}`);
    return { child, url, first, stdout: () => out, stderr: () => err, exited };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

describe("nixcache serve under systemd", { concurrency: false }, () => {
  const dir = tempDir("nixcache-systemd-");
  after(() => dir.cleanup());

  test("the units pass systemd-analyze verify (as shipped, and with their credentials enabled)", async () => {
    // verify checks that ExecStart's program exists: point it at this checkout's.
    const unitDir = join(dir.path, "units");
    const service = readFileSync(new URL("nixcache.service", UNITS), "utf8");
    assert.match(service, /^ExecStart=\/usr\/bin\/nixcache serve /m);
    assert.match(service, /^Type=notify$/m);
    assert.match(service, /^NotifyAccess=all$/m);
    for (const key of [
      "DynamicUser=yes",
      "StateDirectory=nixcache",
      "ProtectSystem=strict",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
    ])
      assert.match(service, new RegExp(`^${key}$`, "m"), key);
    const credentials = service.match(/^#LoadCredential=.*$/gm) ?? [];
    assert.deepEqual(
      credentials.map((l) => /^#LoadCredential=([^:]+):/.exec(l)?.[1]),
      ["metrics-token", "db-password", "s3-access-key-id", "s3-secret-access-key"],
    );
    mkdirSync(unitDir);
    const here = service.replaceAll("/usr/bin/nixcache", NIXCACHE_BIN);
    writeFileSync(join(unitDir, "nixcache.service"), here);
    writeFileSync(join(unitDir, "nixcache.socket"), readFileSync(new URL("nixcache.socket", UNITS)));
    const verify = (...units: string[]) =>
      run("systemd-analyze", ["verify", ...units.map((u) => join(unitDir, u))]).catch(
        (e: { stderr?: string; message: string }) => ({
          stdout: "",
          stderr: e.stderr ?? e.message,
          failed: true,
        }),
      );
    const shipped = await verify("nixcache.service", "nixcache.socket");
    assert.ok(!("failed" in shipped), shipped.stderr);
    // Warnings (an unknown key, a value systemd ignores) do not fail verify: none may be printed.
    assert.equal(shipped.stderr.trim(), "");
    writeFileSync(join(unitDir, "nixcache.service"), here.replace(/^#LoadCredential=/gm, "LoadCredential="));
    const withCredentials = await verify("nixcache.service");
    assert.ok(!("failed" in withCredentials), withCredentials.stderr);
    assert.equal(withCredentials.stderr.trim(), "");
    // And verify does catch a broken unit.
    writeFileSync(join(unitDir, "nixcache.service"), here.replace("Type=notify", "Type=notifyy"));
    const broken = await verify("nixcache.service");
    assert.match(broken.stderr, /Failed to parse service type/);
  });

  test("socket activation: it serves on the passed socket; READY=1 (with MAINPID), WATCHDOG=1, STOPPING=1", async () => {
    const data = join(dir.path, "activated");
    await adminCreateCache({ dataDir: data }, { name: "main", isPublic: true, priority: 41 });
    const notify = new NotifySocket(join(dir.path, "notify.sock"));
    let child: ChildProcess | undefined;
    try {
      await notify.ready;
      const port = await freePort();
      const s = await activate(
        port,
        // WatchdogSec=0.3s: WATCHDOG=1 every 150 ms.
        { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: "300000" },
        // The listen setting is unused: the socket is systemd's.
        ["--data", data, "--listen", "127.0.0.1:1", "--quiet"],
        "/main/nix-cache-info",
      );
      child = s.child;
      assert.equal(s.url, `http://127.0.0.1:${port}`);
      // The connection that started it is served.
      const res = await s.first;
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^StoreDir: \/nix\/store$/m);
      const cfg = (await (await fetch(`${s.url}/api/cache-config`)).json()) as {
        caches: Array<{ substituter: string }>;
      };
      assert.equal(cfg.caches[0]?.substituter, `${s.url}/main`);

      await until("READY=1 arrives", () => notify.with("READY=1").length === 1);
      const ready = notify.with("READY=1")[0] as string;
      // systemd-socket-activate execs the server: its pid is the main pid.
      assert.ok(ready.split("\n").includes(`MAINPID=${s.child.pid}`), ready);
      assert.match(ready, new RegExp(`^STATUS=listening on ${s.url}$`, "m"));
      await until("WATCHDOG=1 keeps coming", () => notify.with("WATCHDOG=1").length >= 3);
      assert.equal(notify.with("STOPPING=1").length, 0);

      s.child.kill("SIGTERM");
      assert.equal(await s.exited, 0, s.stderr());
      assert.equal(notify.with("STOPPING=1").length, 1);
      // READY before STOPPING, each once.
      const order = notify.messages
        .filter((m) => /^(READY|STOPPING)=1/m.test(m))
        .map((m) => m.split("\n")[0]);
      assert.deepEqual(order, ["READY=1", "STOPPING=1"]);
      assert.doesNotMatch(s.stderr(), /"level":"error"/);
    } finally {
      child?.kill("SIGKILL");
      notify.close();
    }
  });

  test("SIGTERM lets an in-flight upload finish and commit, then the server exits 0", async () => {
    const data = join(dir.path, "sigterm");
    const here = { dataDir: data };
    await adminCreateCache(here, { name: "main", isPublic: true, priority: 41 });
    const token = (await adminCreateToken(here, { cache: "main", perm: "write", expiresAt: null })).token;
    const notify = new NotifySocket(join(dir.path, "notify2.sock"));
    let child: ChildProcess | undefined;
    try {
      await notify.ready;
      const s = await activate(
        await freePort(),
        { NOTIFY_SOCKET: notify.path },
        ["--data", data, "--quiet"],
        "/healthz",
      );
      child = s.child;
      assert.equal((await s.first).status, 200);
      await until("READY=1 arrives", () => notify.with("READY=1").length === 1);
      const nar = await makeNar("sigterm", 400_000);
      const name = `nar/${nix32Encode(createHash("sha256").update(nar).digest())}.nar`;
      const status = new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${s.url}/main/${name}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-length": String(nar.length) },
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.write(nar.subarray(0, 1000));
        const rest = async () => {
          // The server is receiving (its staged file exists): stop it, then finish sending.
          await until("the upload is staged", () => {
            try {
              return stagedUploads(data).length > 0;
            } catch {
              return false;
            }
          });
          s.child.kill("SIGTERM");
          await until("STOPPING=1 arrives", () => notify.with("STOPPING=1").length === 1);
          // New connections are refused now; this one is in flight.
          await assert.rejects(fetch(`${s.url}/main/nix-cache-info`));
          req.end(nar.subarray(1000));
        };
        rest().catch(reject);
      });
      assert.equal(await status, 204);
      assert.equal(await s.exited, 0, s.stderr());
      assert.match(s.stderr(), /"event":"shutdown","signal":"SIGTERM"/);
      const meta = await openMetadata(here);
      try {
        assert.equal((await meta.getNar("main", name))?.narSize, nar.length);
      } finally {
        await meta.close();
      }
    } finally {
      child?.kill("SIGKILL");
      notify.close();
    }
  });

  test("--workers 2 under socket activation: the workers serve the passed socket; READY=1 once all listen", async () => {
    const notify = new NotifySocket(join(dir.path, "notify3.sock"));
    let child: ChildProcess | undefined;
    try {
      await notify.ready;
      const port = await freePort();
      const data = join(dir.path, "workers");
      const s = await activate(
        port,
        { NOTIFY_SOCKET: notify.path },
        ["--data", data, "--workers", "2", "--quiet"],
        "/healthz",
      );
      child = s.child;
      assert.equal(s.url, `http://127.0.0.1:${port}`);
      assert.equal((await s.first).status, 200);
      const statuses = await Promise.all(
        Array.from(
          { length: 8 },
          async () => (await fetch(`${s.url}/healthz`, { headers: { connection: "close" } })).status,
        ),
      );
      assert.deepEqual(statuses, Array(8).fill(200));
      await until("READY=1 arrives", () => notify.with("READY=1").length === 1);
      s.child.kill("SIGTERM");
      assert.equal(await s.exited, 0, s.stderr());
      assert.equal(notify.with("STOPPING=1").length, 1);
    } finally {
      child?.kill("SIGKILL");
      notify.close();
    }
  });

  test("sd_listen_fds and the watchdog's interval follow LISTEN_PID and WATCHDOG_PID", () => {
    assert.deepEqual(activationSocket({ LISTEN_FDS: "1", LISTEN_PID: "42" }, 42), {
      fd: 3,
      count: 1,
      names: [],
    });
    assert.deepEqual(
      activationSocket({ LISTEN_FDS: "2", LISTEN_PID: "42", LISTEN_FDNAMES: "http:metrics" }, 42),
      {
        fd: 3,
        count: 2,
        names: ["http", "metrics"],
      },
    );
    assert.equal(activationSocket({ LISTEN_FDS: "1", LISTEN_PID: "41" }, 42), undefined);
    assert.equal(activationSocket({ LISTEN_FDS: "0", LISTEN_PID: "42" }, 42), undefined);
    assert.equal(activationSocket({}, 42), undefined);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 42), 15_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42), 15_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 42), undefined);
    assert.equal(watchdogIntervalMs({}, 42), undefined);
  });
});
