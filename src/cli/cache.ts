import type { Command } from "commander";
import { adminCreateCache, adminListCaches } from "../server/admin.js";
import { AdminError } from "../server/errors.js";
import { escapeControl } from "../util/terminal.js";
import { registerTrustCommands } from "./cache-trust.js";
import { printJson, UserError } from "./output.js";
import { addStoreOptions, type StoreFlags, storeLocation } from "./store-flags.js";

export function registerCacheCommands(program: Command): void {
  const cache = program
    .command("cache")
    .description(
      "administer the caches of a `nixcache serve` data directory and their OIDC trust rules (offline; safe while it runs)",
    );

  cache
    .command("create")
    .description(
      "Create a cache with its own managed ed25519 signing key and print the public key (Nix format) " +
        "on stdout, ready for `trusted-public-keys`. The secret key never leaves the data directory.",
    )
    .argument("<name>", "cache name: 1-64 of a-z 0-9 . _ -; served at http://HOST:PORT/<name>")
    .option("--private", "require a token with read permission for reads (default: public)")
    .option("--priority <n>", "Priority in nix-cache-info; lower wins (cache.nixos.org is 40)", "41")
    .option("--key-name <name>", "signing key name (default: <name>-1)")
    .option("--json", "print {name, public, priority, publicKey} as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  nixcache cache create main --data /var/lib/nixcache\n" +
        "  # then: trusted-public-keys = <printed key>, substituters = http://HOST:7080/main",
    )
    .action(
      async (
        name: string,
        o: StoreFlags & {
          private?: boolean;
          priority: string;
          keyName?: string;
          json?: boolean;
        },
      ) => {
        const priority = /^\d+$/.test(o.priority) ? Number(o.priority) : Number.NaN;
        if (Number.isNaN(priority))
          throw new UserError(`--priority ${JSON.stringify(o.priority)} is not a whole number`, 2);
        const row = await admin(() =>
          adminCreateCache(storeLocation(o), {
            name,
            isPublic: !o.private,
            priority,
            keyName: o.keyName,
          }),
        );
        if (o.json)
          printJson({
            name: row.name,
            public: row.isPublic,
            priority: row.priority,
            publicKey: row.publicKey,
          });
        else process.stdout.write(`${row.publicKey}\n`);
      },
    );

  cache
    .command("list")
    .description("List the caches of a data directory with their visibility, priority, size and public key.")
    .option("--json", "print an array of {name, public, priority, publicKey, narinfos, createdAt}")
    .addHelpText("after", "\nExample:\n  nixcache cache list --data /var/lib/nixcache --json")
    .action(async (o: StoreFlags & { json?: boolean }) => {
      const rows = await admin(() => adminListCaches(storeLocation(o)));
      if (o.json) {
        printJson(
          rows.map((r) => ({
            name: r.name,
            public: r.isPublic,
            priority: r.priority,
            publicKey: r.publicKey,
            narinfos: r.narinfos,
            createdAt: new Date(r.createdAt).toISOString(),
          })),
        );
        return;
      }
      if (rows.length === 0) {
        process.stderr.write("no caches yet; create one with `nixcache cache create NAME`\n");
        return;
      }
      for (const r of rows)
        process.stdout.write(
          `${[r.name, r.isPublic ? "public" : "private", `priority ${r.priority}`, `${r.narinfos} paths`, r.publicKey].map(escapeControl).join("\t")}\n`,
        );
    });

  for (const c of cache.commands) addStoreOptions(c);
  // After the loop: the group takes no store flags, its subcommands do.
  registerTrustCommands(cache);
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
