import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands.js";
import { reportError } from "./output.js";

// A command other than `serve` is short-lived: its WebAssembly (undici's HTTP parser) is compiled
// by V8's baseline compiler only. Otherwise V8 also optimises it on a background thread, and the
// process waits for that before it can exit: 0.2-0.5 s on 2 cores (bench/build RESULTS.md).
if (process.argv[2] !== "serve") setFlagsFromString("--liftoff-only");

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("nixcache")
  .description(
    "Cached Nix flake builds for CI: push to a binary cache, verify that every output is " +
      "substitutable, and serve a self-hosted cache. Run `nixcache <command> --help` for each command.",
  )
  .version(pkg.version, "-V, --version", "print the nixcache version")
  .showHelpAfterError("(run `nixcache --help` for usage)")
  .exitOverride();

// A closed pipe (`nixcache ... | head`) ends output quietly, as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed help/version/usage errors; usage errors exit 2 by convention.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(err);
  }
}
