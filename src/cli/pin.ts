import { realpath } from "node:fs/promises";
import type { Command } from "commander";
import { adminAddPin, adminListPins, adminRemovePin } from "../server/admin.js";
import type { PinKeep, PinRow } from "../server/metadata/types.js";
import { wholeNumber } from "../util/flag-values.js";
import { escapeControl } from "../util/terminal.js";
import { admin } from "./cache.js";
import { printJson, UserError } from "./output.js";
import { addStateOptions, type StateFlags, stateLocation } from "./state-flags.js";

/** `--keep N` (the newest N revisions) or `all`. */
function parseKeep(s: string): PinKeep {
  if (s === "all") return "all";
  const n = wholeNumber(s, 1, 100_000);
  if (n === undefined)
    throw new UserError(
      `--keep ${JSON.stringify(s)} must be a number of revisions from 1 to 100000, or all`,
      2,
    );
  return { revisions: n };
}

/** A store path as given, or what a symlink to one (./result) points at. */
async function storePathOf(arg: string): Promise<string> {
  if (arg.startsWith("/nix/store/")) return arg;
  try {
    return await realpath(arg);
  } catch {
    return arg; // the admin layer says what is wrong with it
  }
}

function keepText(k: PinKeep): string {
  if (k === "all") return "keeps all revisions";
  return "revisions" in k ? `keeps the newest ${k.revisions}` : `keeps ${k.days} days`;
}

export function pinJson(p: PinRow) {
  return {
    name: p.name,
    storePath: p.revisions[0]?.storePath ?? null,
    keep: p.keep === "all" ? null : p.keep,
    createdAt: new Date(p.createdAt).toISOString(),
    revisionCount: p.revisionCount,
    revisions: p.revisions.map((r) => ({
      storePath: r.storePath,
      artifacts: r.artifacts,
      createdAt: new Date(r.createdAt).toISOString(),
    })),
  };
}

export function registerPinCommands(program: Command): void {
  const pin = program
    .command("pin")
    .description(
      "pins of a `nixcache serve` cache: named store paths that the GC keeps with their closures (offline; safe while it runs)",
    );

  pin
    .command("add")
    .description(
      "Pin STORE-PATH (with its closure) in CACHE under the name PIN, as its newest revision. The path " +
        "must be in the cache already (a visible narinfo). With --keep N the pin is a channel: it keeps " +
        "the N newest paths added under its name, older ones stop being pinned.",
    )
    .argument("<cache>", "the cache")
    .argument("<pin>", "pin name: 1-128 of A-Z a-z 0-9 . _ + -, e.g. v1.2 or main")
    .argument("<store-path>", "/nix/store/<hash>-<name>, or a symlink to one (./result)")
    .option(
      "--keep <n>",
      "revisions the pin keeps from now on: a number, or all (default: unchanged; a new pin keeps all)",
    )
    .option("--json", "print the pin as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  nixcache pin add main v1.2 /nix/store/…-hello-2.12 --data /var/lib/nixcache\n" +
        "  nixcache pin add main nightly ./result --keep 7",
    )
    .action(
      async (
        cache: string,
        name: string,
        path: string,
        o: StateFlags & { keep?: string; json?: boolean },
      ) => {
        const keep = o.keep === undefined ? undefined : parseKeep(o.keep);
        const row = await admin(async () =>
          adminAddPin(stateLocation(o), { cache, name, storePath: await storePathOf(path), keep }),
        );
        if (o.json) printJson(pinJson(row));
        else
          process.stderr.write(
            `pinned ${row.revisions[0]?.storePath} as ${row.name} in ${cache} (${row.revisionCount} revision${row.revisionCount === 1 ? "" : "s"}, ${keepText(row.keep)})\n`,
          );
      },
    );

  pin
    .command("list")
    .description("List the pins of CACHE with their newest store path and what they keep.")
    .argument("<cache>", "the cache")
    .option(
      "--json",
      "print an array of {name, storePath, keep, createdAt, revisionCount, revisions: [{storePath, artifacts, createdAt}]} (the newest 10 revisions)",
    )
    .action(async (cache: string, o: StateFlags & { json?: boolean }) => {
      const rows = await admin(() => adminListPins(stateLocation(o), cache));
      if (o.json) return printJson(rows.map(pinJson));
      if (rows.length === 0) process.stderr.write(`cache ${cache} has no pins\n`);
      for (const p of rows)
        process.stdout.write(
          `${[p.name, p.revisions[0]?.storePath ?? "-", `${p.revisionCount} revisions`, keepText(p.keep)].map(escapeControl).join("\t")}\n`,
        );
    });

  pin
    .command("remove")
    .description("Remove a pin with all its revisions; the GC may then collect what only it kept.")
    .argument("<cache>", "the cache")
    .argument("<pin>", "the pin's name")
    .action(async (cache: string, name: string, o: StateFlags) => {
      await admin(() => adminRemovePin(stateLocation(o), cache, name));
      process.stderr.write(`removed pin ${name} of ${cache}\n`);
    });

  for (const c of pin.commands) addStateOptions(c);
}
