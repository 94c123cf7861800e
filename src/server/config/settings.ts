// The settings of `nixcache serve`, written down once. Each row is one setting: its name is the
// long flag (`--gc-interval`), the key of the TOML config file (`gc-interval = "1h"`) and, in
// upper case with `_` for `-`, the environment variable (`NIXCACHE_GC_INTERVAL`). Commander's
// options, the config file's keys and types, the environment, `--print-config` and the error
// messages are all made from this table (cli/serve.ts, load.ts, print.ts, options.ts).
import { DEFAULT_OIDC_MAX_TOKEN_AGE_SECONDS } from "../auth/oidc.js";
import {
  DEFAULT_OIDC_AUDIENCE,
  DEFAULT_OIDC_EXCHANGES_PER_MINUTE,
  DEFAULT_OIDC_TOKEN_TTL_MS,
} from "../auth/oidc-exchange.js";
import { GITHUB_ACTIONS_ISSUER } from "../auth/trust-rules.js";
import {
  DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
  DEFAULT_NO_PROGRESS_TIMEOUT_MS,
  defaultMaxConnections,
  FD_RESERVE,
  openFileLimit,
} from "../connections.js";
import { DEFAULT_GC_GRACE_MS, DEFAULT_GC_INTERVAL_MS } from "../gc.js";
import { DEFAULT_PENDING_EXPIRY_MS, DEFAULT_SWEEP_INTERVAL_MS } from "../ingest/sweep.js";
import {
  DEFAULT_LISTEN,
  DEFAULT_MAX_LOG_BYTES,
  DEFAULT_MAX_NAR_BYTES,
  DEFAULT_MAX_OPEN_UPLOADS,
  DEFAULT_MAX_UPLOAD_BYTES,
} from "../server.js";
import { type SecretSource, type Setting, STATE_SETTINGS } from "./state-settings.js";

export type { SecretSource, Setting, SettingKind } from "./state-settings.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Default of `--workers`; see bench/serve/RESULTS.md for the measurements behind it. */
const DEFAULT_WORKERS = "1";

/** Every setting of `nixcache serve`, in the order of `--help` and `--print-config`. */
export const SETTINGS: readonly Setting[] = [
  ...STATE_SETTINGS,
  {
    name: "db-password-file",
    kind: "string",
    arg: "<file>",
    help:
      "the PostgreSQL password of --db, this file's first line (default: the systemd credential db-password, " +
      "else PGPASSWORD or ~/.pgpass); never in the URL on the command line or in the config file",
    secret: {
      what: "the database password",
      credential: "db-password",
      alternatives: "PGPASSWORD or ~/.pgpass",
    },
  },
  {
    name: "s3-access-key-id-file",
    kind: "string",
    arg: "<file>",
    help:
      "the S3 access key id of --storage, this file's first line (default: the systemd credential " +
      "s3-access-key-id, else the AWS chain: AWS_ACCESS_KEY_ID, profiles, roles); give both S3 key files or neither",
    secret: {
      what: "the S3 access key id",
      credential: "s3-access-key-id",
      alternatives: "AWS_ACCESS_KEY_ID or an AWS profile",
    },
  },
  {
    name: "s3-secret-access-key-file",
    kind: "string",
    arg: "<file>",
    help: "the S3 secret access key, this file's first line (default: the systemd credential s3-secret-access-key, else the AWS chain)",
    secret: {
      what: "the S3 secret access key",
      credential: "s3-secret-access-key",
      alternatives: "AWS_SECRET_ACCESS_KEY or an AWS profile",
    },
  },
  {
    name: "listen",
    kind: "string",
    arg: "<host:port>",
    default: DEFAULT_LISTEN,
    help: "address to listen on",
  },
  {
    name: "public-url",
    kind: "string",
    arg: "<url>",
    help:
      "base URL clients reach this server at, used in the URLs it hands out (the Cachix API's cache " +
      "uri and part upload URLs, /api/cache-config's substituters); never taken from the request's Host header (default: the listen address)",
  },
  {
    name: "max-upload",
    kind: "size",
    arg: "<size>",
    default: `${DEFAULT_MAX_UPLOAD_BYTES / GiB}G`,
    help: "largest NAR upload accepted, as sent (compressed), e.g. 512M, 8G",
  },
  {
    name: "max-nar-size",
    kind: "size",
    arg: "<size>",
    default: `${DEFAULT_MAX_NAR_BYTES / GiB}G`,
    help: "largest NAR accepted after decompression; a decompression bomb is refused (413) as soon as it passes this",
  },
  {
    name: "max-log-size",
    kind: "size",
    arg: "<size>",
    default: `${DEFAULT_MAX_LOG_BYTES / MiB}M`,
    help: "largest build log accepted (413 beyond)",
  },
  {
    name: "stall-timeout",
    kind: "string",
    arg: "<duration>",
    default: `${DEFAULT_NO_PROGRESS_TIMEOUT_MS / 1000}s`,
    help:
      "cut a connection whose client sends or reads nothing for this long (uploads and downloads of any " +
      "length work as long as bytes move; there is no whole-request deadline); 0 turns it off",
  },
  {
    name: "max-connections-per-client",
    kind: "count",
    arg: "<n>",
    default: String(DEFAULT_MAX_CONNECTIONS_PER_CLIENT),
    help:
      "connections one client address may hold at once; more are answered 429 (0: no limit; raise it " +
      "behind a proxy that connects from one address)",
  },
  {
    name: "max-connections",
    kind: "count",
    arg: "<n>",
    help:
      "connections all clients together may hold at once; at the cap the one idle longest is closed to " +
      "make room, and when none is idle a new one is answered 503 with Retry-After (default: from the " +
      `open-file limit, \`ulimit -n\` or systemd's LimitNOFILE=: half of what is left after ${FD_RESERVE} ` +
      `for the database and logs, so that each connection can also hold its blob or upload: ${defaultMaxConnections()} ` +
      `under this process's limit of ${openFileLimit() ?? "unknown"}; 0: no limit)`,
  },
  {
    name: "max-open-uploads",
    kind: "count",
    arg: "<n>",
    default: String(DEFAULT_MAX_OPEN_UPLOADS),
    help: "multipart uploads (Cachix API) one token may have open at once, across workers and replicas; more are answered 429",
  },
  {
    name: "sweep-interval",
    kind: "string",
    arg: "<duration>",
    default: `${DEFAULT_SWEEP_INTERVAL_MS / 60_000}m`,
    help:
      "how often abandoned multipart uploads, NARs no narinfo names and unreferenced blobs (each once idle " +
      "for an hour), and pending narinfos past --pending-expiry, are removed while the server runs",
  },
  {
    name: "pending-expiry",
    kind: "string",
    arg: "<duration>",
    default: `${DEFAULT_PENDING_EXPIRY_MS / 3_600_000}h`,
    help:
      "how long a narinfo may wait for its closure (references neither pushed nor upstream) after its " +
      "last push; the sweep then deletes it, with its NAR when nothing else names it (at least 1m)",
  },
  {
    name: "gc-interval",
    kind: "string",
    arg: "<duration>",
    default: `${DEFAULT_GC_INTERVAL_MS / 60_000}m`,
    help:
      "how often the garbage collector runs (caches with a retention: `nixcache cache update --retention`); " +
      "one replica at a time runs it, under a lease in the metadata database; 0 or off: never here",
  },
  {
    name: "gc-grace",
    kind: "string",
    arg: "<duration>",
    default: `${DEFAULT_GC_GRACE_MS / 60_000}m`,
    help: "how long the GC leaves a narinfo marked as unreachable before it deletes it (0: the run that marks it deletes it)",
  },
  {
    name: "metrics-token-file",
    kind: "string",
    arg: "<file>",
    help:
      "require `Authorization: Bearer <token>` for /metrics, the token being this file's first line " +
      "(default: the systemd credential metrics-token, else $NIXCACHE_METRICS_TOKEN when set, else /metrics is open and names public caches only)",
    secret: { what: "the metrics token", credential: "metrics-token", valueEnv: "NIXCACHE_METRICS_TOKEN" },
  },
  {
    name: "upstream",
    kind: "list",
    arg: "<url...>",
    help:
      "caches whose paths count as present when a narinfo's closure is checked (a narinfo is served " +
      "only once all its references are): what `nixcache build` leaves out because upstream has it " +
      "(default: https://cache.nixos.org with its key; --no-upstream, or `upstream = []` in the file, for none)",
    negate: "no upstream caches: every reference must be pushed here",
  },
  {
    name: "upstream-key",
    kind: "list",
    arg: "<key...>",
    help: "public keys an upstream's narinfos must be signed with",
  },
  {
    name: "nar-redirect",
    kind: "bool",
    default: false,
    help:
      "with S3 storage: answer NAR GETs of public caches with a 302 to a short-lived presigned URL of the " +
      "object store (Nix follows it), so NAR bytes bypass the server; private caches always stream",
  },
  {
    name: "oidc-issuer",
    kind: "list",
    arg: "<url...>",
    help:
      "exchange identity tokens of this OIDC issuer (repeatable), e.g. GitHub Actions' " +
      `${GITHUB_ACTIONS_ISSUER}, at POST /api/v1/oidc/token for short-lived cache tokens, under the ` +
      "caches' trust rules (`nixcache cache trust add`); without it the exchange answers 404",
  },
  {
    name: "oidc-audience",
    kind: "list",
    arg: "<aud...>",
    help:
      "the audiences identity tokens may name (any one of them), for every --oidc-issuer " +
      `(default: ${DEFAULT_OIDC_AUDIENCE}, what the Action's oidc-audience asks for; the first is what /api/cache-config advertises)`,
  },
  {
    name: "oidc-token-ttl",
    kind: "string",
    arg: "<duration>",
    help:
      "lifetime of the tokens the exchange mints, from the exchange (not tied to the identity token's " +
      `few minutes), 1m to 24h (default: ${DEFAULT_OIDC_TOKEN_TTL_MS / 3_600_000}h)`,
  },
  {
    name: "oidc-max-token-age",
    kind: "string",
    arg: "<duration>",
    help:
      "refuse identity tokens issued (iat) longer ago than this, whatever their exp; CI providers' " +
      `tokens live minutes, 1m to 24h (default: ${DEFAULT_OIDC_MAX_TOKEN_AGE_SECONDS / 3600}h)`,
  },
  {
    name: "oidc-exchanges-per-minute",
    kind: "count",
    arg: "<n>",
    help:
      "identity tokens one subject (an issuer's `sub`, e.g. a repository's branch) may exchange per " +
      `minute, across workers and replicas; more are answered 429 with Retry-After (default: ${DEFAULT_OIDC_EXCHANGES_PER_MINUTE})`,
  },
  {
    name: "quiet",
    kind: "bool",
    default: false,
    help: "no request lines; errors and events (a full disk, GC runs, the connection cap) are still logged",
  },
  {
    name: "workers",
    kind: "workers",
    arg: "<n>",
    default: DEFAULT_WORKERS,
    help:
      "server processes sharing the port: a number, or `auto` for one per CPU (worth it when the " +
      "server has cores to itself; bench/serve/RESULTS.md)",
  },
];

const BY_NAME = new Map(SETTINGS.map((s) => [s.name, s]));

export function settingNamed(name: string): Setting | undefined {
  return BY_NAME.get(name);
}

/** `public-url` → `NIXCACHE_PUBLIC_URL`. */
export function envName(name: string): string {
  return `NIXCACHE_${name.toUpperCase().replace(/-/g, "_")}`;
}

/** The environment variable naming the config file (`--config`). */
export const CONFIG_ENV = "NIXCACHE_CONFIG";

/** The settings whose files hold secrets, by the secret's own (refused) name: `metrics-token`. */
export function secretNamed(name: string): Setting | undefined {
  return SETTINGS.find((s) => s.secret?.credential === name);
}

/** What to do instead of giving a secret's value where it would leak. */
export function secretAdvice(s: Setting): string {
  const sec = s.secret as SecretSource;
  const alt = [
    `\`LoadCredential=${sec.credential}:/path\` in the systemd unit`,
    ...(sec.valueEnv ? [`$${sec.valueEnv}`] : []),
    ...(sec.alternatives ? [sec.alternatives] : []),
  ];
  return `put it in a file readable only by the server and give ${s.name} (--${s.name}, ${envName(s.name)} or the config file), or ${alt.join(", or ")}`;
}
