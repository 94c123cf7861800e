import type { Command } from "commander";
import { adminCreateCache, adminListCaches, adminUpdateCache } from "../server/admin.js";
import { AdminError } from "../server/errors.js";
import type { CacheRow } from "../server/metadata/types.js";
import { formatBytes } from "../util/bytes.js";
import { wholeNumber } from "../util/flag-values.js";
import { parseDuration, parseSize } from "../util/quantity.js";
import { escapeControl } from "../util/terminal.js";
import { registerTrustCommands } from "./cache-trust.js";
import { printJson, UserError } from "./output.js";
import { addStateOptions, type StateFlags, stateLocation } from "./state-flags.js";

export function registerCacheCommands(program: Command): void {
  const cache = program
    .command("cache")
    .description(
      "administer the caches of a `nixcache serve` data directory (offline; safe while it runs): create, update (retention, quota), list, and their OIDC trust rules",
    );

  cache
    .command("create")
    .description(
      "Create a cache with its own managed ed25519 signing key and print the public key (Nix format) " +
        "on stdout, ready for `trusted-public-keys`. The secret key never leaves the data directory.",
    )
    .argument(
      "<name>",
      "cache name: 1-64 of a-z 0-9 . _ -, not api, healthz, metrics, static or ui (the server's own paths); " +
        "served at http://HOST:PORT/<name>",
    )
    .option("--private", "require a token with read permission for reads (default: public)")
    .option("--priority <n>", "Priority in nix-cache-info; lower wins (cache.nixos.org is 40)", "41")
    .option("--key-name <name>", "signing key name (default: <name>-1)")
    .option(
      "--retention <duration>",
      "keep narinfos this long after their last push or fetch (e.g. 30d), pins and closures of kept ones always; `nixcache gc` and `serve`'s GC delete the rest (default: forever)",
    )
    .option("--quota <size>", "most bytes the cache's NARs may take in storage, e.g. 50G (default: none)")
    .option("--json", "print {name, public, priority, publicKey, retention, quota} as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  nixcache cache create main --data /var/lib/nixcache\n" +
        "  # then: trusted-public-keys = <printed key>, substituters = http://HOST:7080/main",
    )
    .action(
      async (
        name: string,
        o: StateFlags & {
          private?: boolean;
          priority: string;
          keyName?: string;
          retention?: string;
          quota?: string;
          json?: boolean;
        },
      ) => {
        const priority = wholeNumber(o.priority);
        if (priority === undefined)
          throw new UserError(`--priority ${JSON.stringify(o.priority)} is not a whole number`, 2);
        const row = await admin(() =>
          adminCreateCache(stateLocation(o), {
            name,
            isPublic: !o.private,
            priority,
            keyName: o.keyName,
            retentionMs: o.retention === undefined ? undefined : parseRetention(o.retention),
            quotaBytes: o.quota === undefined ? undefined : parseQuota(o.quota),
          }),
        );
        if (o.json)
          printJson({
            name: row.name,
            public: row.isPublic,
            priority: row.priority,
            publicKey: row.publicKey,
            retention: formatRetention(row.retentionMs),
            quota: row.quotaBytes,
          });
        else process.stdout.write(`${row.publicKey}\n`);
      },
    );

  cache
    .command("update")
    .description(
      "Change a cache's retention, quota or visibility. A new retention applies from the next GC run " +
        "(marks made under the old one are dropped, so nothing goes sooner than a grace period after it).",
    )
    .argument("<name>", "the cache")
    .option(
      "--retention <duration>",
      "keep narinfos this long after their last push or fetch (e.g. 30d), or `forever`",
    )
    .option("--quota <size>", "most bytes the cache's NARs may take in storage (e.g. 50G), or `none`")
    .option("--public", "anyone may read the cache")
    .option("--private", "reads need a token with read permission")
    .option("--json", "print the cache as `cache list --json` does")
    .addHelpText(
      "after",
      "\nExamples:\n  nixcache cache update main --retention 30d --quota 100G --data /var/lib/nixcache\n" +
        "  nixcache cache update main --retention forever --quota none",
    )
    .action(
      async (
        name: string,
        o: StateFlags & {
          retention?: string;
          quota?: string;
          public?: boolean;
          private?: boolean;
          json?: boolean;
        },
      ) => {
        if (o.public && o.private) throw new UserError("--public and --private contradict each other", 2);
        if (!o.public && !o.private && o.retention === undefined && o.quota === undefined)
          throw new UserError("nothing to change: give --retention, --quota, --public or --private", 2);
        const row = await admin(() =>
          adminUpdateCache(stateLocation(o), name, {
            isPublic: o.public ? true : o.private ? false : undefined,
            retentionMs: o.retention === undefined ? undefined : parseRetention(o.retention),
            quotaBytes: o.quota === undefined ? undefined : parseQuota(o.quota),
          }),
        );
        if (o.json) printJson(cacheJson(row));
        else process.stderr.write(`${cacheLine(row)}\n`);
      },
    );

  cache
    .command("list")
    .description(
      "List the caches of a data directory with their visibility, priority, paths, bytes used, quota, " +
        "retention and public key.",
    )
    .option(
      "--json",
      "print an array of {name, public, priority, publicKey, narinfos, paths, bytes, quota, retention, retentionSeconds, createdAt}",
    )
    .addHelpText("after", "\nExample:\n  nixcache cache list --data /var/lib/nixcache --json")
    .action(async (o: StateFlags & { json?: boolean }) => {
      const rows = await admin(() => adminListCaches(stateLocation(o)));
      if (o.json) {
        printJson(rows.map(cacheJson));
        return;
      }
      if (rows.length === 0) {
        process.stderr.write("no caches yet; create one with `nixcache cache create NAME`\n");
        return;
      }
      for (const r of rows) process.stdout.write(`${cacheLine(r)}\n`);
    });

  for (const c of cache.commands) addStateOptions(c);
  // After the loop: the group takes no store flags, its subcommands do.
  registerTrustCommands(cache);
}

type ListedCache = CacheRow & { narinfos: number; bytes: number };

function cacheJson(r: ListedCache) {
  return {
    name: r.name,
    public: r.isPublic,
    priority: r.priority,
    publicKey: r.publicKey,
    narinfos: r.narinfos,
    paths: r.narinfos,
    bytes: r.bytes,
    quota: r.quotaBytes,
    retention: formatRetention(r.retentionMs),
    retentionSeconds: r.retentionMs === null ? null : r.retentionMs / 1000,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

function cacheLine(r: ListedCache): string {
  const used = `${formatBytes(r.bytes)}${r.quotaBytes === null ? "" : ` of ${formatBytes(r.quotaBytes)} quota`}`;
  return [
    r.name,
    r.isPublic ? "public" : "private",
    `priority ${r.priority}`,
    `${r.narinfos} paths`,
    used,
    `retention ${formatRetention(r.retentionMs)}`,
    r.publicKey,
  ]
    .map(escapeControl)
    .join("\t");
}

/** `--retention`: a duration with its unit (30d, 12h), or `forever`. */
export function parseRetention(s: string): number | null {
  if (s === "forever") return null;
  let ms = 0;
  try {
    ms = parseDuration(s, { requireUnit: true });
  } catch {}
  if (ms < 1000)
    throw new UserError(
      `--retention ${JSON.stringify(s)} is not a duration of at least 1s like 30d or 12h, nor forever`,
      2,
    );
  return ms;
}

/** `--quota`: a size (50G, 512M, bytes), or `none`. */
export function parseQuota(s: string): number | null {
  if (s === "none") return null;
  try {
    return parseSize(s);
  } catch {
    throw new UserError(`--quota ${JSON.stringify(s)} is not a size like 50G or 512M, nor none`, 2);
  }
}

/** A retention for people and scripts: the largest whole unit (30d, 12h), or `forever`. */
export function formatRetention(ms: number | null): string {
  if (ms === null) return "forever";
  for (const [unit, n] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const)
    if (ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

/** Turns the admin layer's refusals into user errors (exit 1) with their message as is. */
export async function admin<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof AdminError) throw new UserError(e.message);
    throw e;
  }
}
