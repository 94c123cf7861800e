import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { errorMessage, exitCodeOf } from "../util/errors.js";
import { UserError } from "./output.js";
import { loadTargets } from "./targets.js";

interface WorkflowFlags {
  flake: string;
  config?: string;
  cache: string;
  out?: string;
  check?: boolean;
  runner?: string[];
  actionRef?: string;
  branch: string;
  auth: string;
}

/** `uses:` of this version's Action when --action-ref is not given. */
export function defaultActionRef(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return `nixcache/nixcache@v${pkg.version}`;
}

async function runWorkflow(flags: WorkflowFlags): Promise<number> {
  const wf = await import("../github/workflow.js");
  const runners = (() => {
    try {
      return wf.parseRunnerFlags(flags.runner ?? []);
    } catch (e) {
      throw new UserError(errorMessage(e), 2);
    }
  })();
  if (!(wf.WORKFLOW_AUTHS as readonly string[]).includes(flags.auth))
    throw new UserError(
      `--auth ${JSON.stringify(flags.auth)}: expected ${wf.WORKFLOW_AUTHS.join(" or ")}`,
      2,
    );
  // The systems come from the target set; the targets themselves are read again at run time.
  const { targets } = await loadTargets({ flake: flags.flake, config: flags.config, branch: flags.branch });
  const opts: Parameters<typeof wf.generateWorkflows>[0] = {
    systems: targets.map((t) => t.system),
    cache: flags.cache,
    actionRef: flags.actionRef ?? defaultActionRef(),
    runners,
    flake: flags.flake,
    branch: flags.branch,
  };
  if (flags.auth === "oidc") opts.auth = "oidc";
  if (flags.config !== undefined) opts.config = flags.config;
  if (flags.out !== undefined) opts.out = flags.out;
  let files: ReturnType<typeof wf.generateWorkflows>;
  try {
    files = wf.generateWorkflows(opts);
  } catch (e) {
    throw new UserError(errorMessage(e), exitCodeOf(e) === 2 ? 2 : 1);
  }
  const dir = flags.out ?? path.join(".github", "workflows");
  if (flags.check) {
    const res = await wf.checkWorkflows(dir, files);
    for (const d of res.differ) process.stdout.write(d.diff);
    if (res.differ.length > 0) {
      process.stderr.write(
        `nixcache: ${res.differ.map((d) => path.join(dir, d.name)).join(", ")} ${res.differ.length === 1 ? "differs" : "differ"} from what ` +
          `\`${wf.regenerateCommand(opts)}\` generates; run it to regenerate\n`,
      );
      return 1;
    }
    process.stderr.write(
      `nixcache: ${files.map((f) => path.join(dir, f.name)).join(" and ")} are up to date\n`,
    );
    return 0;
  }
  const changed = await wf.writeWorkflows(dir, files);
  for (const f of files)
    process.stdout.write(`${changed.includes(f.name) ? "wrote" : "unchanged"} ${path.join(dir, f.name)}\n`);
  return 0;
}

export function registerWorkflowCommands(program: Command): void {
  program
    .command("workflow")
    .description(
      "Write the GitHub Actions workflows for this flake into .github/workflows/: nix-build-cache.yml builds " +
        "the target set on one runner per system (from the flake's target set, now) and pushes it to the " +
        "cache through the nixcache Action; cache-only.yml verifies after each build of the default branch " +
        "that every target and its closure is substitutable from the cache plus cache.nixos.org. Neither " +
        "lists targets: both read the config at run time. Idempotent; --check compares instead of writing.",
    )
    .option("--flake <ref>", "flake reference (a directory, git+file:, github:, ...)", ".")
    .option("--config <file>", "garnix.yaml to use instead of the flake's own (the workflows pass it on)")
    .requiredOption("--cache <url>", "the cache: cachix://NAME or http(s)://HOST/<cache> (a nixcache server)")
    .option("--out <dir>", "where to write the files (default: .github/workflows)")
    .option(
      "--check",
      "write nothing: exit 1 with a unified diff when the files differ from what would be written",
    )
    .option(
      "--runner <system=label...>",
      "runner label for a system (repeatable), e.g. aarch64-linux=ubuntu-24.04-arm",
    )
    .option(
      "--action-ref <ref>",
      "the nixcache Action to use, OWNER/REPO@REF (default: nixcache/nixcache@v<this version>)",
    )
    .option(
      "--branch <name>",
      "the default branch: its pushes build and push; Cache Only follows them",
      "main",
    )
    .option(
      "--auth <how>",
      "how the jobs get their cache token: token (a repository secret) or oidc (the job's OIDC identity " +
        "token exchanged at the nixcache server under its trust rules: permissions id-token: write, no secret)",
      "token",
    )
    .addHelpText(
      "after",
      "\nRunners by default: x86_64-linux ubuntu-24.04, aarch64-linux ubuntu-24.04-arm, x86_64-darwin\n" +
        "macos-13, aarch64-darwin macos-14. Secrets and variables the files use: CACHIX_AUTH_TOKEN and\n" +
        "CACHIX_CACHE_NAME for cachix://, NIXCACHE_TOKEN for an http(s) cache (none with --auth oidc).\n" +
        "Pull requests from forks get no secrets (nor an OIDC identity token): their jobs build and read\n" +
        "the cache without pushing.\n" +
        "Exit status: 0 written (or, with --check, up to date), 1 when --check finds a difference,\n" +
        "2 on usage errors.\n\n" +
        "Examples:\n" +
        "  nixcache workflow --cache cachix://mycache\n" +
        "  nixcache workflow --cache https://cache.example.org/main --runner x86_64-linux=ubuntu-latest\n" +
        "  nixcache workflow --cache https://cache.example.org/main --auth oidc   # no stored secret\n" +
        "  nixcache workflow --cache cachix://mycache --check      # in CI: fails on hand edits",
    )
    .action(async (flags: WorkflowFlags) => {
      process.exitCode = await runWorkflow(flags);
    });
}
