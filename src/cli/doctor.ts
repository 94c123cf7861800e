import type { Command } from "commander";
import { doctorExitCode, runDoctor } from "../doctor/doctor.js";
import { formatDoctorReport } from "../doctor/render.js";
import { FlakeEvalError } from "../local-nix/flake-ref.js";
import { parseCountFlag, parseDurationFlag } from "../util/flag-values.js";
import { printJson, UserError } from "./output.js";

interface DoctorFlags {
  flake: string;
  json?: boolean;
  timeout: string;
  slow: string;
  coverage: boolean;
  samples: string;
}

export function registerDoctorCommands(program: Command): void {
  program
    .command("doctor")
    .description(
      "Check the substituters and trusted keys a flake's nixConfig (and the local Nix configuration) " +
        "makes Nix use: each cache resolves, connects and serves a valid nix-cache-info for /nix/store, " +
        "and how long that takes; each key is well formed and really signs what its cache serves " +
        "(sampled narinfos); the target set's coverage in the live caches; keys with no cache, caches " +
        "with no trusted key, a nixConfig Nix will ignore (accept-flake-config, trusted-users), and " +
        "unsigned narinfos in Nix's own disk cache for a cache that signs on the server. A dead cache " +
        "is named with what it costs each Nix call and the exact edit that removes it from flake.nix.",
    )
    .option("--flake <ref>", "flake reference (a directory, git+file:, github:, ...)", ".")
    .option("--json", "print the report as JSON (a contract: docs/guide/doctor.md)")
    .option(
      "--timeout <duration>",
      "deadline for each connection step (resolve, connect, nix-cache-info)",
      "5s",
    )
    .option("--slow <duration>", "a live cache answering slower than this is reported slow", "2s")
    .option("--samples <n>", "narinfos sampled per cache to check its signatures", "8")
    .option("--no-coverage", "do not evaluate the target set (faster; no coverage, fewer samples)")
    .addHelpText(
      "after",
      "\nExit status: 0 when nothing needs fixing, 1 when anything does (a dead or invalid cache, a\n" +
        "malformed, wrong or orphaned key, a cache no trusted key signs, a nixConfig Nix ignores, stale\n" +
        "unsigned narinfos in Nix's disk cache), 2 on usage errors. Slow caches and targets not yet in a\n" +
        "cache are warnings.\n\n" +
        'JSON: {"substituters": [{"url", "status": "ok"|"dead"|"invalid"|"slow", "reason", "ms", ...}],\n' +
        '       "keys": [{"key", "status": "ok"|"invalid"|"wrong"|"no-cache"|"unchecked", "reason", ...}],\n' +
        '       "fixes": ["<edit in words>", ...], "edits": [{file, line, action, text, replacement}], ...}\n\n' +
        "Examples:\n  nixcache doctor\n  nixcache doctor --flake ./my-flake --json --timeout 2s",
    )
    .action(async (flags: DoctorFlags) => {
      const samples = parseCountFlag(flags.samples, "--samples");
      const timeoutMs = parseDurationFlag(flags.timeout, "--timeout", { positive: true });
      const slowMs = parseDurationFlag(flags.slow, "--slow", { positive: true });
      const report = await runDoctor({
        flake: flags.flake,
        timeoutMs,
        slowMs,
        samples,
        coverage: flags.coverage,
      }).catch((e: unknown) => {
        if (e instanceof FlakeEvalError) throw new UserError(e.message, 2);
        throw e;
      });
      if (flags.json) printJson(report);
      else process.stdout.write(formatDoctorReport(report));
      process.exitCode = doctorExitCode(report);
    });
}
