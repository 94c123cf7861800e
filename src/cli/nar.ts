// `nixcache nar …`: plumbing byte-compatible with `nix-store --dump/--restore`, `nix-hash` and
// `nix nar ls/cat`. Parsing and printing only; the formats live in src/nix/nar-*.ts.
import { open } from "node:fs/promises";
import type { Command } from "commander";
import { formatHashNix32 } from "../nix/hash.js";
import { encodeNarBorrowed, narHashOfPath } from "../nix/nar-encode.js";
import { extractNar } from "../nix/nar-extract.js";
import { listNar, type NarListEntry, narFileContents, narListingJson } from "../nix/nar-list.js";
import { writeChunks } from "../util/pipe-writer.js";
import { printJson, UserError } from "./output.js";

/** The archive named on the command line: a file, or stdin for "-". */
async function archive(file: string): Promise<AsyncIterable<Buffer>> {
  if (file === "-") return process.stdin;
  // Open first so a missing file is a clear error rather than a stream 'error' event.
  const fh = await open(file, "r").catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read '${file}': ${err.code === "ENOENT" ? "no such file" : err.message}`);
  });
  return fh.createReadStream({ highWaterMark: 1024 * 1024 });
}

function mode(e: NarListEntry): string {
  if (e.type === "directory") return "dr-xr-xr-x";
  if (e.type === "symlink") return "lrwxrwxrwx";
  return e.executable ? "-r-xr-xr-x" : "-r--r--r--";
}

function printListing(entries: readonly NarListEntry[], long: boolean): void {
  const base = entries[0];
  const lines: string[] = [];
  for (const e of entries) {
    // Like `nix nar ls`: a directory shows its contents as ./name, a file shows its own name.
    let name: string;
    if (e === base && e.type === "directory") continue;
    if (e === base) name = e.segments.length ? e.path.slice(e.path.lastIndexOf("/") + 1) : ".";
    else name = `./${e.relativePath}`;
    if (long && e.type === "symlink") name += ` -> ${e.target?.toString()}`;
    lines.push(long ? `${mode(e)} ${String(e.size ?? 0).padStart(20)} ${name}` : name);
  }
  if (lines.length) process.stdout.write(`${lines.join("\n")}\n`);
}

export function registerNarCommands(program: Command): void {
  const nar = program
    .command("nar")
    .description("create and inspect Nix archives (NAR), byte-compatible with nix-store --dump")
    .addHelpText(
      "after",
      "\nExample:\n  nixcache nar dump ./result > result.nar && nixcache nar ls -R result.nar",
    );

  nar
    .command("dump")
    .description("write the NAR serialisation of PATH to stdout (the bytes `nix-store --dump PATH` writes)")
    .argument("<path>", "file, directory or symlink to archive (a symlink is archived, not followed)")
    .addHelpText("after", "\nExample:\n  nixcache nar dump /nix/store/...-hello > hello.nar")
    .action(async (path: string) => {
      await writeChunks(encodeNarBorrowed(path));
    });

  nar
    .command("hash")
    .description("print the sha256 of PATH's NAR as sha256:<nix32> (as in narinfo NarHash)")
    .argument("<path>", "file, directory or symlink to hash")
    .addHelpText(
      "after",
      "\nEquals `nix-hash --type sha256 --base32 PATH` with a sha256: prefix.\n\nExample:\n  nixcache nar hash ./result",
    )
    .action(async (path: string) => {
      const { narHash } = await narHashOfPath(path);
      process.stdout.write(`${formatHashNix32(narHash)}\n`);
    });

  nar
    .command("ls")
    .description("list the contents of a NAR file (like `nix nar ls`)")
    .argument("<file>", "NAR file, or - for stdin")
    .argument("[inner-path]", "path inside the archive to list", "/")
    .option("-R, --recursive", "list subdirectories recursively")
    .option("-l, --long", "show type, permissions and size")
    .option("--json", "print JSON: {type, size, executable, narOffset, target, entries: {name: …}}")
    .addHelpText(
      "after",
      "\nExamples:\n  nixcache nar ls -R hello.nar\n  nixcache nar ls --json hello.nar /bin",
    )
    .action(
      async (
        file: string,
        innerPath: string,
        opts: { recursive?: boolean; long?: boolean; json?: boolean },
      ) => {
        const entries = await listNar(await archive(file), {
          path: innerPath,
          recursive: opts.recursive ?? false,
        });
        if (opts.json) printJson(narListingJson(entries, opts.recursive ?? false));
        else printListing(entries, opts.long ?? false);
      },
    );

  nar
    .command("cat")
    .description("write the contents of one regular file inside a NAR to stdout")
    .argument("<file>", "NAR file, or - for stdin")
    .argument("<inner-path>", "path of the file inside the archive, e.g. /bin/hello")
    .addHelpText("after", "\nExample:\n  nixcache nar cat hello.nar /share/man/man1/hello.1.gz | zcat")
    .action(async (file: string, innerPath: string) => {
      await writeChunks(narFileContents(await archive(file), innerPath));
    });

  nar
    .command("extract")
    .description("unpack a NAR into DIR, which must not exist (like `nix-store --restore DIR`)")
    .argument("<file>", "NAR file, or - for stdin")
    .argument("<dir>", "where to create the tree")
    .addHelpText("after", "\nExample:\n  nixcache nar extract hello.nar ./hello")
    .action(async (file: string, dir: string) => {
      await extractNar(await archive(file), dir);
    });
}
