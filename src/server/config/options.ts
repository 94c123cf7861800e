// The effective settings of `nixcache serve` (load.ts) checked and turned into server options:
// sizes, durations and counts parsed, cross-setting rules applied, secrets read from their files
// (or systemd credentials). Every refusal is a usage error naming the setting where it was given.
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { NixcacheError } from "../../util/errors.js";
import { wholeNumber } from "../../util/flag-values.js";
import { parseDuration, parseSize } from "../../util/quantity.js";
import { parseListen, parsePublicUrl } from "../addresses.js";
import { DEFAULT_OIDC_AUDIENCE } from "../auth/oidc-exchange.js";
import { issuerUrlProblem } from "../auth/trust-rules.js";
import { defaultDataDir } from "../data-dir.js";
import { parseDbUrl, parseStorageUrl } from "../locations.js";
import type { ServerOptions } from "../server.js";
import type { StateLocation } from "../state-location.js";
import { parseUpstreams, type Upstream } from "../upstreams.js";
import { type EffectiveConfig, label, type Value } from "./load.js";
import { type Setting, secretAdvice, settingNamed } from "./settings.js";

/** Where a secret was read from (what --print-config says instead of the secret). */
export interface SecretOrigin {
  setting: string;
  from: "file" | "credential" | "env";
  /** The file, the credential's path or the variable. */
  where: string;
}

export interface ServeConfig {
  /** Everything the server (or each worker) starts with, except its log sink. */
  server: Omit<ServerOptions, "log">;
  workers: number;
  quiet: boolean;
  /** The listen address as given, for messages. */
  listen: string;
  /** The secrets found, and where (never their values). */
  secrets: SecretOrigin[];
}

function usage(message: string): NixcacheError {
  return new NixcacheError("usage", message);
}

/** `--gc-interval` in a message about a value given elsewhere becomes that place's name. */
function relabel(v: Value, e: unknown): unknown {
  if (!(e instanceof NixcacheError) || e.code !== "usage") return e;
  const flag = `--${v.setting.name}`;
  const where = label(v.setting.name, v.origin);
  const re = new RegExp(`${flag}(?![\\w-])`, "g");
  if (where === flag || !re.test(e.message)) return e;
  return usage(e.message.replace(re, where));
}

/** Runs a parse of `v`, naming `v` where it was given in any error. */
function at<T>(v: Value, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw relabel(v, e);
  }
}

function text(v: Value): string {
  return Array.isArray(v.raw) ? v.raw.join(" ") : String(v.raw);
}

/** `4` or `auto` (one per CPU) → a worker count. */
function workers(v: Value): number {
  const s = text(v);
  if (s === "auto") return availableParallelism();
  const n = wholeNumber(s, 1, 256);
  if (n === undefined)
    throw usage(`${label("workers", v.origin)} ${JSON.stringify(s)} must be a number from 1 to 256, or auto`);
  return n;
}

/** A size: `512M`, `8G`, `1048576` → bytes. */
function size(v: Value): number {
  try {
    return parseSize(text(v));
  } catch {
    throw usage(
      `${label(v.setting.name, v.origin)} ${JSON.stringify(text(v))} is not a size like 512M or 8G`,
    );
  }
}

/** A duration: `60s`, `10m` → milliseconds (`0` turns it off where that is allowed). */
function duration(v: Value): number {
  try {
    return parseDuration(text(v));
  } catch {
    throw usage(
      `${label(v.setting.name, v.origin)} ${JSON.stringify(text(v))} is not a duration like 60s or 10m`,
    );
  }
}

function count(v: Value, min: number): number {
  const s = text(v);
  const n = wholeNumber(s, min);
  if (n === undefined)
    throw usage(`${label(v.setting.name, v.origin)} ${JSON.stringify(s)} must be a whole number ≥ ${min}`);
  return n;
}

/** Longest `--oidc-token-ttl`: exchanged tokens are meant to die with the job that got them. */
const MAX_OIDC_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
/** Longest `--oidc-max-token-age`: identity tokens are minutes old when a job exchanges them. */
const MAX_OIDC_TOKEN_AGE_MS = 24 * 60 * 60 * 1000;

function list(v: Value | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v.raw) ? v.raw : [String(v.raw)];
}

/** The checked configuration; reads the secrets' files. */
export function resolveServeConfig(cfg: EffectiveConfig, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const get = (name: string) => cfg.get(name);
  const need = (name: string) => {
    const v = get(name);
    if (!v) throw new Error(`setting ${name} has no value`);
    return v;
  };
  const where = (name: string) => {
    const v = get(name);
    return v ? label(name, v.origin) : `--${name}`;
  };

  const listenV = need("listen");
  const listen = at(listenV, () => parseListen(text(listenV)));

  const secrets: SecretOrigin[] = [];
  const secret = (name: string): string | undefined => {
    const s = settingNamed(name) as Setting;
    const found = readSecret(s, get(name), env);
    if (found) secrets.push({ setting: name, from: found.from, where: found.where });
    return found?.value;
  };

  // Where the state is; a password never in a URL given on the command line or in the file.
  const dbV = get("db");
  const dbPassword = secret("db-password-file");
  if (dbV && (dbV.origin.from === "flag" || dbV.origin.from === "file") && urlPassword(text(dbV)))
    throw usage(
      `${label("db", dbV.origin)}: the URL has a password, which ${dbV.origin.from === "flag" ? "anyone can read in the process list" : "would sit in the config file"}: ` +
        `give it without one and ${secretAdvice(settingNamed("db-password-file") as Setting)}`,
    );
  const accessKeyId = secret("s3-access-key-id-file");
  const secretAccessKey = secret("s3-secret-access-key-file");
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw usage(
      "s3-access-key-id-file and s3-secret-access-key-file go together: give both (files or systemd credentials) or neither (the AWS chain)",
    );
  const data = get("data");
  const db = dbV === undefined ? undefined : text(dbV);
  if (dbV) at(dbV, () => parseDbUrl(text(dbV)));
  const storageV = get("storage");
  const storage = storageV === undefined ? undefined : text(storageV);
  if (storageV) at(storageV, () => parseStorageUrl(text(storageV)));
  const at_: StateLocation = {
    dataDir: data ? text(data) : db === undefined && storage === undefined ? defaultDataDir(env) : undefined,
    db,
    storage,
    ...(dbPassword !== undefined ? { dbPassword } : {}),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { s3Credentials: { accessKeyId, secretAccessKey } }
      : {}),
  };

  const publicUrlV = get("public-url");
  const publicUrl = publicUrlV && at(publicUrlV, () => parsePublicUrl(text(publicUrlV)));

  const sweepV = need("sweep-interval");
  const sweepIntervalMs = duration(sweepV);
  if (sweepIntervalMs < 1000) throw usage(`${where("sweep-interval")} must be at least 1s`);

  const pendingV = need("pending-expiry");
  const pendingExpiryMs = duration(pendingV);
  if (pendingExpiryMs < 60_000) throw usage(`${where("pending-expiry")} must be at least 1m`);

  const gcV = need("gc-interval");
  const gcIntervalMs = text(gcV) === "off" ? 0 : duration(gcV);
  if (gcIntervalMs !== 0 && gcIntervalMs < 1000)
    throw usage(`${where("gc-interval")} must be at least 1s (or 0/off)`);

  // Upstreams: a list, [] (--no-upstream) for none, or the default.
  let upstreams: Upstream[] | undefined;
  const upstreamV = get("upstream");
  const upstreamKeyV = get("upstream-key");
  if (upstreamV !== undefined) {
    const urls = list(upstreamV) as string[];
    upstreams =
      urls.length === 0
        ? []
        : at(upstreamV, () =>
            upstreamKeyV
              ? at(upstreamKeyV, () => parseUpstreams(urls, list(upstreamKeyV) ?? []))
              : parseUpstreams(urls, []),
          );
  } else if (upstreamKeyV) throw usage(`${where("upstream-key")} needs --upstream`);

  const maxConnectionsV = get("max-connections");

  const metricsToken = secret("metrics-token-file");
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(metricsToken)) {
    const from = secrets.find((s) => s.setting === "metrics-token-file") as SecretOrigin;
    const what = from.from === "file" ? `${where("metrics-token-file")} ${from.where}` : from.where;
    throw usage(`the metrics token (${what}) must be 16 to 512 printable characters without spaces`);
  }

  const server: Omit<ServerOptions, "log"> = {
    ...at_,
    ...listen,
    upstreams,
    narRedirect: need("nar-redirect").raw === true,
    publicUrl,
    maxUploadBytes: size(need("max-upload")),
    maxNarBytes: size(need("max-nar-size")),
    maxLogBytes: size(need("max-log-size")),
    noProgressTimeoutMs: duration(need("stall-timeout")),
    maxConnectionsPerClient: count(need("max-connections-per-client"), 0),
    ...(maxConnectionsV ? { maxConnections: count(maxConnectionsV, 0) } : {}),
    maxOpenUploads: count(need("max-open-uploads"), 1),
    sweepIntervalMs,
    pendingExpiryMs,
    gcIntervalMs,
    gcGraceMs: duration(need("gc-grace")),
    metricsToken,
    ...oidcOptions(cfg),
  };
  return {
    server,
    workers: workers(need("workers")),
    quiet: need("quiet").raw === true,
    listen: text(listenV),
    secrets,
  };
}

/**
 * `oidc-issuer`, `oidc-audience`, `oidc-token-ttl`, `oidc-max-token-age`,
 * `oidc-exchanges-per-minute` → server options (plain data).
 */
function oidcOptions(
  cfg: EffectiveConfig,
): Pick<ServerOptions, "oidcIssuers" | "oidcTokenTtlMs" | "oidcMaxTokenAgeMs" | "oidcExchangesPerMinute"> {
  const issuerV = cfg.get("oidc-issuer");
  const audienceV = cfg.get("oidc-audience");
  const ttlV = cfg.get("oidc-token-ttl");
  const maxAgeV = cfg.get("oidc-max-token-age");
  const rateV = cfg.get("oidc-exchanges-per-minute");
  const issuers = list(issuerV) ?? [];
  if (issuers.length === 0) {
    const extra = [audienceV, ttlV, maxAgeV, rateV].find((v) => v !== undefined);
    if (extra)
      throw usage(
        extra.origin.from === "file"
          ? `${label(extra.setting.name, extra.origin)} needs oidc-issuer`
          : "--oidc-audience, --oidc-token-ttl, --oidc-max-token-age and --oidc-exchanges-per-minute need --oidc-issuer",
      );
    return {};
  }
  const v = issuerV as Value;
  const audiences = list(audienceV) ?? [DEFAULT_OIDC_AUDIENCE];
  for (const issuer of issuers) {
    const problem = issuerUrlProblem(issuer);
    if (problem) throw usage(`${label("oidc-issuer", v.origin)}: ${problem}`);
  }
  if (new Set(issuers).size !== issuers.length)
    throw usage(`${label("oidc-issuer", v.origin)}: an issuer is given twice`);
  if (audienceV && audiences.some((a) => a.trim() === ""))
    throw usage(`${label("oidc-audience", audienceV.origin)} must not be empty`);
  let oidcTokenTtlMs: number | undefined;
  if (ttlV !== undefined) {
    oidcTokenTtlMs = duration(ttlV);
    if (oidcTokenTtlMs < 60_000 || oidcTokenTtlMs > MAX_OIDC_TOKEN_TTL_MS)
      throw usage(`${label("oidc-token-ttl", ttlV.origin)} must be from 1m to 24h`);
  }
  let oidcMaxTokenAgeMs: number | undefined;
  if (maxAgeV !== undefined) {
    oidcMaxTokenAgeMs = duration(maxAgeV);
    if (oidcMaxTokenAgeMs < 60_000 || oidcMaxTokenAgeMs > MAX_OIDC_TOKEN_AGE_MS)
      throw usage(`${label("oidc-max-token-age", maxAgeV.origin)} must be from 1m to 24h`);
  }
  return {
    oidcIssuers: issuers.map((issuer) => ({ issuer, audiences })),
    oidcTokenTtlMs,
    oidcMaxTokenAgeMs,
    oidcExchangesPerMinute: rateV === undefined ? undefined : count(rateV, 1),
  };
}

/** The password of a URL, or "" (an unparsable URL is left to the location's own checks). */
export function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
}

/**
 * A secret: the first line of the setting's file when it is given, else of the systemd credential
 * `$CREDENTIALS_DIRECTORY/<credential>` when that exists, else the value of its legacy variable.
 */
export function readSecret(
  s: Setting,
  v: Value | undefined,
  env: NodeJS.ProcessEnv,
): { value: string; from: SecretOrigin["from"]; where: string } | undefined {
  const sec = s.secret;
  if (!sec) return undefined;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, "utf8").split(/\r?\n/)[0]?.trim() ?? "";
    } catch (e) {
      throw usage(`cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  if (v !== undefined) {
    const file = text(v);
    return { value: read(file, `${label(s.name, v.origin)} ${file}`), from: "file", where: file };
  }
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir) {
    const file = join(dir, sec.credential);
    if (existsSync(file))
      return {
        value: read(file, `the systemd credential ${sec.credential} (${file})`),
        from: "credential",
        where: file,
      };
  }
  const value = sec.valueEnv ? env[sec.valueEnv] : undefined;
  if (sec.valueEnv && value !== undefined && value !== "")
    return { value: value.trim(), from: "env", where: sec.valueEnv };
  return undefined;
}
