import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { DEFAULT_OIDC_AUDIENCE, DEFAULT_OIDC_TOKEN_TTL_MS } from "../server/auth/oidc-exchange.js";
import { GITHUB_ACTIONS_ISSUER, issuerUrlProblem } from "../server/auth/trust-rules.js";
import { DEFAULT_MAX_CONNECTIONS_PER_CLIENT, DEFAULT_NO_PROGRESS_TIMEOUT_MS } from "../server/connections.js";
import { ClusterStartError } from "../server/errors.js";
import { DEFAULT_GC_GRACE_MS, DEFAULT_GC_INTERVAL_MS } from "../server/gc.js";
import { DEFAULT_SWEEP_INTERVAL_MS } from "../server/ingest/sweep.js";
import {
  DEFAULT_LISTEN,
  DEFAULT_MAX_LOG_BYTES,
  DEFAULT_MAX_NAR_BYTES,
  DEFAULT_MAX_OPEN_UPLOADS,
  DEFAULT_MAX_UPLOAD_BYTES,
  parseListen,
  parsePublicUrl,
  type ServerOptions,
  startServer,
} from "../server/server.js";
import type { StoreLocation } from "../server/stores.js";
import { parseUpstreams, type Upstream } from "../server/upstreams.js";
import { parseDuration, parseSize } from "../util/quantity.js";
import { UserError } from "./output.js";
import { addStoreOptions, type StoreFlags, storeLocation } from "./store-flags.js";

/** Default of `--workers`; see bench/serve/RESULTS.md for the measurements behind it. */
const DEFAULT_WORKERS = "1";

/** `4` or `auto` (one per CPU) → a worker count. */
function parseWorkers(s: string): number {
  if (s === "auto") return availableParallelism();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 256)
    throw new UserError(`--workers ${JSON.stringify(s)} must be a number from 1 to 256, or auto`, 2);
  return n;
}

/** A size flag: `512M`, `8G`, `1048576` → bytes. */
function size(flag: string, s: string): number {
  try {
    return parseSize(s);
  } catch {
    throw new UserError(`${flag} ${JSON.stringify(s)} is not a size like 512M or 8G`, 2);
  }
}

/** A duration flag: `60s`, `10m` → milliseconds (`0` turns it off where that is allowed). */
function duration(flag: string, s: string): number {
  try {
    return parseDuration(s);
  } catch {
    throw new UserError(`${flag} ${JSON.stringify(s)} is not a duration like 60s or 10m`, 2);
  }
}

function count(flag: string, s: string, min: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < min)
    throw new UserError(`${flag} ${JSON.stringify(s)} must be a whole number ≥ ${min}`, 2);
  return n;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

interface ServeFlags extends StoreFlags {
  narRedirect?: boolean;
  upstream?: string[] | false;
  upstreamKey?: string[];
  listen: string;
  publicUrl?: string;
  maxUpload: string;
  maxNarSize: string;
  maxLogSize: string;
  stallTimeout: string;
  maxConnectionsPerClient: string;
  maxOpenUploads: string;
  sweepInterval: string;
  gcInterval: string;
  gcGrace: string;
  quiet?: boolean;
  workers: string;
  metricsTokenFile?: string;
  oidcIssuer?: string[];
  oidcAudience?: string[];
  oidcTokenTtl?: string;
}

/** Longest `--oidc-token-ttl`: exchanged tokens are meant to die with the job that got them. */
const MAX_OIDC_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/** `--oidc-issuer`, `--oidc-audience`, `--oidc-token-ttl` → server options (plain data). */
function oidcOptions(o: ServeFlags): Pick<ServerOptions, "oidcIssuers" | "oidcTokenTtlMs"> {
  const issuers = o.oidcIssuer ?? [];
  if (issuers.length === 0) {
    if (o.oidcAudience || o.oidcTokenTtl)
      throw new UserError("--oidc-audience and --oidc-token-ttl need --oidc-issuer", 2);
    return {};
  }
  const audiences = o.oidcAudience ?? [DEFAULT_OIDC_AUDIENCE];
  for (const issuer of issuers) {
    const problem = issuerUrlProblem(issuer);
    if (problem) throw new UserError(`--oidc-issuer: ${problem}`, 2);
  }
  if (new Set(issuers).size !== issuers.length)
    throw new UserError("--oidc-issuer: an issuer is given twice", 2);
  if (audiences.some((a) => a.trim() === "")) throw new UserError("--oidc-audience must not be empty", 2);
  let oidcTokenTtlMs: number | undefined;
  if (o.oidcTokenTtl !== undefined) {
    oidcTokenTtlMs = duration("--oidc-token-ttl", o.oidcTokenTtl);
    if (oidcTokenTtlMs < 60_000 || oidcTokenTtlMs > MAX_OIDC_TOKEN_TTL_MS)
      throw new UserError("--oidc-token-ttl must be from 1m to 24h", 2);
  }
  return { oidcIssuers: issuers.map((issuer) => ({ issuer, audiences })), oidcTokenTtlMs };
}

/**
 * The token /metrics requires: the first line of --metrics-token-file, else $NIXCACHE_METRICS_TOKEN,
 * else none (open). Never a flag's value: that would show in `ps`.
 */
function metricsToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let token: string | undefined;
  let from: string;
  if (file !== undefined) {
    from = `--metrics-token-file ${file}`;
    try {
      token = readFileSync(file, "utf8").split(/\r?\n/)[0]?.trim() ?? "";
    } catch (e) {
      throw new UserError(
        `cannot read ${from}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        2,
      );
    }
  } else {
    from = "NIXCACHE_METRICS_TOKEN";
    token = env.NIXCACHE_METRICS_TOKEN;
    if (token === undefined || token === "") return undefined;
    token = token.trim();
  }
  if (!/^[\x21-\x7e]{16,512}$/.test(token))
    throw new UserError(
      `the metrics token (${from}) must be 16 to 512 printable characters without spaces`,
      2,
    );
  return token;
}

/** `--gc-interval`: a duration of at least 1s, or `0`/`off` for no GC in this server. */
function gcInterval(s: string): number {
  if (s === "off") return 0;
  const ms = duration("--gc-interval", s);
  if (ms !== 0 && ms < 1000) throw new UserError("--gc-interval must be at least 1s (or 0/off)", 2);
  return ms;
}

/** The flags that become server options (the same for one process and for workers). */
function serverOptions(o: ServeFlags, at: StoreLocation, listen: { host: string; port: number }) {
  let publicUrl: string | undefined;
  try {
    publicUrl = o.publicUrl === undefined ? undefined : parsePublicUrl(o.publicUrl);
  } catch (e) {
    throw new UserError((e as Error).message, 2);
  }
  const sweepIntervalMs = duration("--sweep-interval", o.sweepInterval);
  if (sweepIntervalMs < 1000) throw new UserError("--sweep-interval must be at least 1s", 2);
  let upstreams: Upstream[] | undefined;
  try {
    if (o.upstream === false) upstreams = [];
    else if (o.upstream !== undefined) upstreams = parseUpstreams(o.upstream, o.upstreamKey ?? []);
    else if (o.upstreamKey) throw new UserError("--upstream-key needs --upstream", 2);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message, 2);
  }
  return {
    ...at,
    ...listen,
    upstreams,
    narRedirect: o.narRedirect ?? false,
    publicUrl,
    maxUploadBytes: size("--max-upload", o.maxUpload),
    maxNarBytes: size("--max-nar-size", o.maxNarSize),
    maxLogBytes: size("--max-log-size", o.maxLogSize),
    noProgressTimeoutMs: duration("--stall-timeout", o.stallTimeout),
    maxConnectionsPerClient: count("--max-connections-per-client", o.maxConnectionsPerClient, 0),
    maxOpenUploads: count("--max-open-uploads", o.maxOpenUploads, 1),
    sweepIntervalMs,
    gcIntervalMs: gcInterval(o.gcInterval),
    gcGraceMs: duration("--gc-grace", o.gcGrace),
    metricsToken: metricsToken(o.metricsTokenFile),
    ...oidcOptions(o),
  } satisfies Omit<ServerOptions, "log">;
}

export function registerServeCommands(program: Command): void {
  const serve = program.command("serve");
  addStoreOptions(serve)
    .description(
      "Run the embedded binary cache server. Each cache of the data directory is a Nix HTTP binary " +
        "cache at http://HOST:PORT/<cache>/ that `nix copy --to` writes to and Nix substitutes from. " +
        "Uploads are verified (NAR hash and size) before they are stored and signed with the cache's key. " +
        "Prints `listening on URL` (and the dashboard's URL/ui/) on stdout, then one JSON line per request on stderr. SIGTERM/SIGINT " +
        "stop accepting, let in-flight uploads finish (connections still open after 30 s are cut), and exit.",
    )
    .option("--listen <host:port>", "address to listen on", DEFAULT_LISTEN)
    .option(
      "--public-url <url>",
      "base URL clients reach this server at, used in the URLs it hands out (the Cachix API's cache " +
        "uri and part upload URLs); never taken from the request's Host header (default: the listen address)",
    )
    .option(
      "--max-upload <size>",
      "largest NAR upload accepted, as sent (compressed), e.g. 512M, 8G",
      `${DEFAULT_MAX_UPLOAD_BYTES / GiB}G`,
    )
    .option(
      "--max-nar-size <size>",
      "largest NAR accepted after decompression; a decompression bomb is refused (413) as soon as it passes this",
      `${DEFAULT_MAX_NAR_BYTES / GiB}G`,
    )
    .option(
      "--max-log-size <size>",
      "largest build log accepted (413 beyond)",
      `${DEFAULT_MAX_LOG_BYTES / MiB}M`,
    )
    .option(
      "--stall-timeout <duration>",
      "cut a connection whose client sends or reads nothing for this long (uploads and downloads of any " +
        "length work as long as bytes move; there is no whole-request deadline); 0 turns it off",
      `${DEFAULT_NO_PROGRESS_TIMEOUT_MS / 1000}s`,
    )
    .option(
      "--max-connections-per-client <n>",
      "connections one client address may hold at once; more are answered 429 (0: no limit; raise it " +
        "behind a proxy that connects from one address)",
      String(DEFAULT_MAX_CONNECTIONS_PER_CLIENT),
    )
    .option(
      "--max-open-uploads <n>",
      "multipart uploads (Cachix API) one token may have open at once; more are answered 429",
      String(DEFAULT_MAX_OPEN_UPLOADS),
    )
    .option(
      "--sweep-interval <duration>",
      "how often abandoned multipart uploads, NARs no narinfo names and unreferenced blobs are removed " +
        "while the server runs (each once idle for an hour)",
      `${DEFAULT_SWEEP_INTERVAL_MS / 60_000}m`,
    )
    .option(
      "--gc-interval <duration>",
      "how often the garbage collector runs (caches with a retention: `nixcache cache update --retention`); " +
        "one replica at a time runs it, under a lease in the metadata database; 0 or off: never here",
      `${DEFAULT_GC_INTERVAL_MS / 60_000}m`,
    )
    .option(
      "--gc-grace <duration>",
      "how long the GC leaves a narinfo marked as unreachable before it deletes it",
      `${DEFAULT_GC_GRACE_MS / 60_000}m`,
    )
    .option(
      "--metrics-token-file <file>",
      "require `Authorization: Bearer <token>` for /metrics, the token being this file's first line " +
        "(default: $NIXCACHE_METRICS_TOKEN when set, else /metrics is open)",
    )
    .option(
      "--upstream <url...>",
      "caches whose paths count as present when a narinfo's closure is checked (a narinfo is served " +
        "only once all its references are): what `nixcache build` leaves out because upstream has it " +
        "(default: https://cache.nixos.org with its key; --no-upstream for none)",
    )
    .option("--upstream-key <key...>", "public keys an upstream's narinfos must be signed with")
    .option("--no-upstream", "no upstream caches: every reference must be pushed here")
    .option(
      "--nar-redirect",
      "with S3 storage: answer NAR GETs of public caches with a 302 to a short-lived presigned URL of the " +
        "object store (Nix follows it), so NAR bytes bypass the server; private caches always stream",
    )
    .option(
      "--oidc-issuer <url...>",
      "exchange identity tokens of this OIDC issuer (repeatable), e.g. GitHub Actions' " +
        `${GITHUB_ACTIONS_ISSUER}, at POST /api/v1/oidc/token for short-lived cache tokens, under the ` +
        "caches' trust rules (`nixcache cache trust add`); without it the exchange answers 404",
    )
    .option(
      "--oidc-audience <aud...>",
      "the audiences identity tokens may name (any one of them), for every --oidc-issuer " +
        `(default: ${DEFAULT_OIDC_AUDIENCE}, what the Action's oidc-audience asks for)`,
    )
    .option(
      "--oidc-token-ttl <duration>",
      "lifetime of the tokens the exchange mints, from the exchange (not tied to the identity token's " +
        `few minutes), 1m to 24h (default: ${DEFAULT_OIDC_TOKEN_TTL_MS / 3_600_000}h)`,
    )
    .option("--quiet", "no request logs")
    .option(
      "--workers <n>",
      "server processes sharing the port: a number, or `auto` for one per CPU (worth it when the " +
        "server has cores to itself; bench/serve/RESULTS.md)",
      DEFAULT_WORKERS,
    )
    .addHelpText(
      "after",
      "\nExample:\n  nixcache cache create main --data ./data\n" +
        "  nixcache token create --data ./data --cache main --perm write > token\n" +
        "  nixcache serve --data ./data --listen 127.0.0.1:7080\n" +
        "  nixcache serve --data ./data --listen :7080 --workers auto --quiet   # a dedicated machine\n" +
        "  # stateless replicas behind a load balancer, sharing PostgreSQL and a bucket:\n" +
        "  nixcache serve --db postgres://nixcache@db:5432/nixcache \\\n" +
        "    --storage 's3://nix-cache?endpoint=https://s3.example.com&region=us-east-1' --listen :7080\n" +
        "  nix copy --to 'http://127.0.0.1:7080/main?compression=zstd' --option netrc-file ./netrc ./result\n" +
        "  # CI pushes with no stored secret: GitHub Actions' identity tokens for trust rules' tokens\n" +
        `  nixcache serve --data ./data --oidc-issuer ${GITHUB_ACTIONS_ISSUER}`,
    )
    .action(async (o: ServeFlags) => {
      let listen: { host: string; port: number };
      try {
        listen = parseListen(o.listen);
      } catch (e) {
        throw new UserError((e as Error).message, 2);
      }
      const workers = parseWorkers(o.workers);
      const at = storeLocation(o);
      const serverOpts = serverOptions(o, at, listen);
      const stderrLine = (line: string) => process.stderr.write(`${line}\n`);
      // One worker is the plain in-process server; more are forked processes (loaded only then).
      const started: Promise<{ url: string; close(): Promise<void> }> =
        workers === 1
          ? startServer({ ...serverOpts, log: o.quiet ? undefined : stderrLine })
          : import("../server/cluster.js").then((c) =>
              c.startCluster({ ...serverOpts, logRequests: !o.quiet }, workers, stderrLine),
            );
      const server = await started.catch((e: NodeJS.ErrnoException) => {
        // A worker's start failure carries the system error's code on its own field.
        const code = e instanceof ClusterStartError ? e.systemCode : e.code;
        if (code === "EADDRINUSE") throw new UserError(`${o.listen} is already in use`);
        if (code === "EACCES")
          throw new UserError(`no permission to listen on ${o.listen} or to use ${at.dataDir ?? at.storage}`);
        throw e;
      });
      process.stdout.write(`listening on ${server.url}\ndashboard at ${server.url}/ui/\n`);
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          process.stderr.write(
            `${JSON.stringify({ time: new Date().toISOString(), event: "shutdown", signal: sig })}\n`,
          );
          server.close().then(resolve, (e) => {
            process.stderr.write(`nixcache: error during shutdown: ${(e as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
    });
}
