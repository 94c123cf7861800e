import type { Command } from "commander";
import { NIXOS_CACHE_KEY } from "../build/trust.js";
import { parseRunnerFlags } from "../github/workflow.js";
import { formatMigrationReport, formatRollback, formatStatus } from "../migrate/render.js";
import * as m from "../migrate/runner.js";
import { NIXOS_CACHE } from "../nix/nixos-cache.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import { printJson, UserError } from "./output.js";
import { defaultActionRef } from "./workflow.js";

interface Flags {
  to?: string;
  from: string;
  flake: string;
  token?: string;
  cachixApi?: string;
  trustedKey?: string[];
  repo?: string;
  githubApiUrl?: string;
  ciTokenEnv?: string;
  actionRef?: string;
  branch?: string;
  runner?: string[];
  upstream?: string[];
  upstreamKey?: string[];
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

const HELP = `
Steps, in order: cache provisioned (through the Cachix-compatible API; the manual steps when the
token cannot), secrets and variables set on GitHub (CACHIX_AUTH_TOKEN + CACHIX_CACHE_NAME for
cachix://, NIXCACHE_TOKEN for a nixcache server: the names the workflows read), workflows generated
(.github/workflows, the target set copied from garnix.yaml to .github/nixcache-targets.yaml),
flake.nix nixConfig given the new substituter and key, verify against the new cache, then the
aggregate status "All nixcache checks" required on the default branch (--branch, default main),
and only then garnix.yaml and cache.garnix.io (with its key) removed.

GitHub: the secrets step needs --repo OWNER/NAME and a token in GITHUB_TOKEN or GH_TOKEN (with
"Secrets: write" and "Variables: write", or the classic \`repo\` scope); the secret's value is the
CI's write token, read from $CACHIX_AUTH_TOKEN / $NIXCACHE_TOKEN (or --ci-token-env NAME). Without
them the step stays pending and the others go on. Tokens are never printed or stored.
The required-check step adds "All nixcache checks" to the branch's required status checks (the
others stay) once verify passes, when the token has "Administration: write" (classic: \`repo\`, as
an admin); an unprotected branch or a token without it makes it a manual step, with the way.

State: .nixcache/migrate.json (steps done, files changed, what was done remotely) and
.nixcache/backup/ (each changed file as it was). A stopped apply resumes at the first step not done.
rollback restores every file byte for byte, deletes what it created and the state, and removes the
required status check it added (only one it added); it cannot delete a created cache or the
secrets and variables it set: it lists them with the command to.

Exit status: plan/status/rollback 0; apply 0 when nothing failed or is blocked (a step waiting
for --repo is fine), 1 otherwise; 2 on usage errors.

Examples:
  nixcache migrate plan --to cachix://mycache
  NIXCACHE_TOKEN=… GITHUB_TOKEN=… nixcache migrate apply --to https://cache.example.org/main --repo me/app
  nixcache migrate status --json
  nixcache migrate rollback`;

async function options(flags: Flags) {
  if (!flags.to) throw new UserError("--to CACHE is needed (cachix://NAME or http(s)://HOST/NAME)", 2);
  const env = process.env;
  if (flags.ciTokenEnv !== undefined && !env[flags.ciTokenEnv])
    throw new UserError(`--ci-token-env ${flags.ciTokenEnv}: $${flags.ciTokenEnv} is not set`, 2);
  const upstreams = flags.upstream ?? [NIXOS_CACHE];
  const noUpstream = upstreams.length === 1 && upstreams[0] === "none";
  return {
    dir: flags.flake,
    to: flags.to,
    from: flags.from,
    ...(flags.token ? { token: flags.token } : {}),
    ...(flags.cachixApi ? { cachixApi: flags.cachixApi } : {}),
    ...(flags.trustedKey ? { trustedKeys: flags.trustedKey } : {}),
    ...(flags.repo ? { repo: flags.repo } : {}),
    ...(flags.githubApiUrl ? { githubApiUrl: flags.githubApiUrl } : {}),
    ...(flags.ciTokenEnv ? { ciToken: env[flags.ciTokenEnv] as string } : {}),
    actionRef: flags.actionRef ?? defaultActionRef(),
    ...(flags.branch ? { branch: flags.branch } : {}),
    runners: parseRunnerFlags(flags.runner ?? []),
    upstreams: noUpstream ? [] : upstreams,
    upstreamKeys: noUpstream ? [] : (flags.upstreamKey ?? (flags.upstream ? [] : [NIXOS_CACHE_KEY])),
  };
}

function usage<T>(f: () => Promise<T>): Promise<T> {
  return f().catch((e) => {
    if (e instanceof NixcacheError && (e.code === "usage" || e.code === "invalid"))
      throw new UserError(e.message, 2);
    throw e;
  });
}

export function registerMigrateCommands(program: Command): void {
  const migrate = program
    .command("migrate")
    .description(
      "Move a repository from Garnix to a cache of your own, step by step, nothing removed before " +
        "the new cache is proven: plan, apply (resumable), status, rollback.",
    )
    .addHelpText("after", HELP);
  const common = (c: Command) =>
    c
      .option("--to <cache>", "the cache moved to: cachix://NAME or http(s)://HOST/NAME (a nixcache server)")
      .option("--from <provider>", "the CI provider moved from", "garnix")
      .option("--flake <dir>", "the repository (a local flake directory)", ".")
      .option("--json", "print the report as JSON");
  for (const [name, what] of [
    ["plan", "each step, done or pending, and what apply would do; changes nothing"],
    ["apply", "perform the pending steps, recording each in .nixcache/migrate.json"],
  ] as const)
    common(migrate.command(name).description(what))
      .option(
        "--token <token>",
        "cache/API token (default: $CACHIX_AUTH_TOKEN for cachix://, $NIXCACHE_TOKEN otherwise)",
      )
      .option(
        "--cachix-api <url>",
        "for cachix://: the Cachix-compatible API (default $NIXCACHE_CACHIX_API, else Cachix)",
      )
      .option("--trusted-key <key>", "the cache's public key, when its API cannot say (repeatable)", collect)
      .option(
        "--repo <owner/name>",
        "the GitHub repository for the secrets step (token: GITHUB_TOKEN or GH_TOKEN)",
      )
      .option(
        "--github-api-url <url>",
        "GitHub REST API base (default $GITHUB_API_URL, else https://api.github.com)",
      )
      .option(
        "--ci-token-env <NAME>",
        "environment variable holding the write token CI pushes with (the secret's value)",
      )
      .option(
        "--action-ref <ref>",
        "the nixcache Action the workflows use (default nixcache/nixcache@v<this version>)",
      )
      .option("--branch <name>", "the default branch (workflows, target selection)")
      .option("--runner <system=label>", "runner label for a system (repeatable)", collect)
      .option(
        "--upstream <url>",
        "cache the closures may also come from in verify (repeatable; default cache.nixos.org; none for none)",
        collect,
      )
      .option("--upstream-key <key>", "public key of an upstream cache (repeatable)", collect)
      .addHelpText("after", HELP)
      .action(async (flags: Flags) => {
        const opts = await usage(() => options(flags));
        const r = await usage(() => (name === "plan" ? m.planMigration(opts) : m.applyMigration(opts)));
        if (flags.json) printJson(r);
        else process.stdout.write(formatMigrationReport(r));
        process.exitCode = name === "plan" || r.ok ? 0 : 1;
      });
  common(migrate.command("status").description("where the migration stands, from its state file")).action(
    async (flags: Flags) => {
      const s = await usage(() => m.migrationStatus(flags.flake));
      if (flags.json) printJson(s);
      else process.stdout.write(formatStatus(s));
    },
  );
  common(
    migrate
      .command("rollback")
      .description(
        "restore every file the migration changed, byte for byte; remove the required status check it " +
          "added (token: GITHUB_TOKEN or GH_TOKEN); list what stays remotely",
      ),
  )
    .option(
      "--github-api-url <url>",
      "GitHub REST API base (default $GITHUB_API_URL, else https://api.github.com)",
    )
    .action(async (flags: Flags) => {
      let r: Awaited<ReturnType<typeof m.rollbackMigration>>;
      try {
        r = await m.rollbackMigration(
          flags.flake,
          flags.githubApiUrl ? { githubApiUrl: flags.githubApiUrl } : {},
        );
      } catch (e) {
        throw new UserError(errorMessage(e), 1);
      }
      if (flags.json) printJson(r);
      else process.stdout.write(formatRollback(r));
    });
}
