import { type Command, Option } from "commander";
import { GITHUB_ACTIONS_ISSUER } from "../server/auth/trust-rules.js";
import { startCluster } from "../server/cluster.js";
import { loadConfig, type Raw } from "../server/config/load.js";
import { resolveServeConfig } from "../server/config/options.js";
import { printConfig } from "../server/config/print.js";
import { CONFIG_ENV, envName, SETTINGS, type Setting, secretAdvice } from "../server/config/settings.js";
import { ClusterStartError } from "../server/errors.js";
import { startServer } from "../server/server.js";
import { activationSocket, clearActivationEnv, SystemdNotifier } from "../server/systemd.js";
import { UserError } from "./output.js";

/** Commander's attribute for a flag: `max-upload` → `maxUpload`. */
function attribute(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The options of one setting: `--name <arg>` (with `--no-name` where it has one). */
function optionsOf(s: Setting): Option[] {
  const flag = new Option(`--${s.name}${s.arg ? ` ${s.arg}` : ""}`, s.help);
  if (typeof s.default === "string") flag.default(s.default);
  const out = [flag];
  if (s.negate) out.push(new Option(`--no-${s.name}`, s.negate));
  // A secret's value on the command line is refused with what to do instead (not "unknown option").
  if (s.secret) out.push(new Option(`--${s.secret.credential} <value>`).hideHelp());
  return out;
}

/** The settings given on the command line (not defaulted), by setting name. */
function flagsGiven(cmd: Command): Record<string, Raw> {
  const opts = cmd.opts() as Record<string, unknown>;
  const out: Record<string, Raw> = {};
  for (const s of SETTINGS) {
    const key = attribute(s.name);
    if (cmd.getOptionValueSource(key) !== "cli") continue;
    const v = opts[key];
    out[s.name] = v === false && s.kind === "list" ? [] : (v as Raw);
  }
  return out;
}

export function registerServeCommands(program: Command): void {
  const serve = program
    .command("serve")
    .description(
      "Run the embedded binary cache server. Each cache of the data directory is a Nix HTTP binary " +
        "cache at http://HOST:PORT/<cache>/ that `nix copy --to` writes to and Nix substitutes from. " +
        "Uploads are verified (NAR hash and size) before they are stored and signed with the cache's key. " +
        "Prints `listening on URL` (and the dashboard's URL/ui/) on stdout, then one JSON line per request on stderr. SIGTERM/SIGINT " +
        "stop accepting, let in-flight uploads finish (connections still open after 30 s are cut), abort " +
        "lookups in upstream caches (what waits for them stays pending), and exit.",
    )
    .option(
      "--config <file>",
      `a TOML file of settings: keys are the long option names below, e.g. gc-interval = "1h" (default: $${CONFIG_ENV})`,
    )
    .option(
      "--print-config",
      "print the effective configuration as a TOML file --config loads, secrets left out, and exit",
    );
  for (const s of SETTINGS) for (const o of optionsOf(s)) serve.addOption(o);
  serve
    .addHelpText(
      "after",
      "\nConfiguration: every option above is also a key of the --config file and an environment\n" +
        `variable, NIXCACHE_ and the name in upper case with _ for - (${envName("public-url")}); lists are\n` +
        "TOML arrays, or space-separated in the environment. Precedence: flag > environment > file >\n" +
        "default. An unknown key, a wrong type or a bad value exits 2 naming the key and its line.\n" +
        "Secrets never go on the command line or in the file: the *-file options name files holding them,\n" +
        "and under systemd `LoadCredential=` provides them ($CREDENTIALS_DIRECTORY/metrics-token, db-password,\n" +
        "s3-access-key-id, s3-secret-access-key). `--print-config` shows what applies and where it came from.\n" +
        "\nsystemd: with $NOTIFY_SOCKET it sends READY=1 once it listens with the database open, STOPPING=1\n" +
        "at shutdown and WATCHDOG=1 when WatchdogSec= is set (via systemd-notify: NotifyAccess=all); with\n" +
        "socket activation ($LISTEN_FDS) it serves on the socket passed. Units: contrib/systemd/.\n" +
        "\nExample:\n  nixcache cache create main --data ./data\n" +
        "  nixcache token create --data ./data --cache main --perm write > token\n" +
        "  nixcache serve --data ./data --listen 127.0.0.1:7080\n" +
        "  nixcache serve --data ./data --listen :7080 --workers auto --quiet   # a dedicated machine\n" +
        "  nixcache serve --config /etc/nixcache/server.toml --print-config   # what a config file gives\n" +
        "  # stateless replicas behind a load balancer, sharing PostgreSQL and a bucket:\n" +
        "  nixcache serve --db postgres://nixcache@db:5432/nixcache --db-password-file /run/keys/db \\\n" +
        "    --storage 's3://nix-cache?endpoint=https://s3.example.com&region=us-east-1' --listen :7080\n" +
        "  nix copy --to 'http://127.0.0.1:7080/main?compression=zstd' --option netrc-file ./netrc ./result\n" +
        "  # CI pushes with no stored secret: GitHub Actions' identity tokens for trust rules' tokens\n" +
        `  nixcache serve --data ./data --oidc-issuer ${GITHUB_ACTIONS_ISSUER}`,
    )
    .action(async (o: { config?: string; printConfig?: boolean }, cmd: Command) => {
      for (const s of SETTINGS)
        if (s.secret && cmd.getOptionValueSource(attribute(s.secret.credential)) === "cli")
          throw new UserError(
            `--${s.secret.credential}: a secret is never taken from the command line (anyone can read it in ` +
              `the process list): ${secretAdvice(s)}`,
            2,
          );
      const file = o.config ?? (process.env[CONFIG_ENV] || undefined);
      const cfg = loadConfig({ flags: flagsGiven(cmd), file });
      const conf = resolveServeConfig(cfg);
      if (o.printConfig) {
        process.stdout.write(printConfig(cfg, conf.secrets));
        return;
      }
      await run(conf);
    });
}

async function run(conf: ReturnType<typeof resolveServeConfig>): Promise<void> {
  const stderrLine = (line: string) => process.stderr.write(`${line}\n`);
  const event = (fields: Record<string, unknown>) =>
    stderrLine(JSON.stringify({ time: new Date().toISOString(), ...fields }));
  // Socket activation: serve on the socket systemd passed; children must not take it for theirs.
  const activated = activationSocket();
  clearActivationEnv();
  if (activated && activated.count > 1)
    event({
      event: "socket-activation",
      note: `${activated.count} sockets passed; serving on the first only`,
    });
  const notifier = SystemdNotifier.fromEnv({ onError: (m) => event({ level: "error", error: m }) });
  const serverOpts = { ...conf.server, ...(activated ? { listenFd: activated.fd } : {}) };
  const where = activated ? "the socket systemd passed" : conf.listen;
  // One worker is the plain in-process server; more are forked processes.
  const started: Promise<{ url: string; socketPath?: string; close(): Promise<void> }> =
    conf.workers === 1
      ? startServer({ ...serverOpts, log: conf.quiet ? undefined : stderrLine, eventLog: stderrLine })
      : startCluster({ ...serverOpts, logRequests: !conf.quiet }, conf.workers, stderrLine);
  const server = await started.catch((e: NodeJS.ErrnoException) => {
    // A worker's start failure carries the system error's code on its own field.
    const code = e instanceof ClusterStartError ? e.systemCode : e.code;
    if (code === "EADDRINUSE") throw new UserError(`${where} is already in use`);
    if (code === "EACCES")
      throw new UserError(
        `no permission to listen on ${where} or to use ${serverOpts.dataDir ?? serverOpts.storage}`,
      );
    throw e;
  });
  const at = server.socketPath ? `unix:${server.socketPath}` : server.url;
  process.stdout.write(`listening on ${at}\ndashboard at ${server.url}/ui/\n`);
  // Listening, with the metadata store open (startServer opened it first): systemd may go on.
  await notifier?.ready(`listening on ${at}`);
  notifier?.startWatchdog();
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      event({ event: "shutdown", signal: sig });
      void notifier?.stopping();
      server.close().then(resolve, (e) => {
        process.stderr.write(`nixcache: error during shutdown: ${(e as Error).message}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  notifier?.stopWatchdog();
  await notifier?.flush();
}
