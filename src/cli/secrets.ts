import type { Command } from "commander";
import * as rest from "../github/rest.js";
import * as gh from "../github/secrets.js";
import { readIdentityFile } from "../secrets/age.js";
import { readEnvSource, readSecretSource } from "../secrets/sources.js";
import { NixcacheError } from "../util/errors.js";
import { printJson, UserError } from "./output.js";

interface SyncFlags {
  repo: string;
  from?: string[];
  set?: string[];
  variable?: string[];
  identity?: string[];
  dryRun?: boolean;
  apiUrl?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command("secrets").description("GitHub Actions repository secrets and variables");
  secrets
    .command("sync")
    .description(
      "Set GitHub Actions repository secrets (sealed with the repository's public key) and variables " +
        "through the GitHub REST API, from dotenv or JSON files, environment variables, age-encrypted " +
        "files and agenix-style directories (secrets.nix + *.age). Only names are ever shown.",
    )
    .requiredOption("--repo <owner/name>", "the repository")
    .option(
      "--from <file>",
      "secrets from a dotenv file, a .json object, an .age file (ci.env.age, x.json.age) or an agenix directory (repeatable; later wins)",
      collect,
    )
    .option("--set <NAME=ENV>", "the secret NAME from the environment variable ENV (repeatable)", collect)
    .option(
      "--variable <NAME=VALUE>",
      "the repository variable NAME (repeatable; not a secret: shown in logs)",
      collect,
    )
    .option(
      "--identity <file>",
      "age identity for .age sources: an age X25519 key file (AGE-SECRET-KEY-1...) or an unencrypted OpenSSH ed25519 private key (repeatable)",
      collect,
    )
    .option("--dry-run", "say what would change (names only) and change nothing")
    .option(
      "--api-url <url>",
      "GitHub REST API base (GitHub Enterprise: https://HOST/api/v3); default $GITHUB_API_URL, else https://api.github.com",
    )
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      "\nThe token comes from GITHUB_TOKEN, else GH_TOKEN, and is never printed. It needs, on the\n" +
        'repository, "Secrets: write" and "Variables: write" (fine-grained token or GitHub App) or the\n' +
        "`repo` scope (classic token); a 403/404 from GitHub names what is missing.\n\n" +
        "Secrets are always set: GitHub never returns a secret's value, so there is nothing to compare\n" +
        "(an updated_at against a file's mtime would miss a value changed by hand). Variables are read\n" +
        "first and changed only when their value differs.\n\n" +
        "Names are GitHub's (letters, digits, _; upper-cased); an agenix file cachix-token.age becomes\n" +
        "CACHIX_TOKEN, its value the decrypted content less one trailing newline.\n\n" +
        "Exit status: 0 when every item was set (or, with --dry-run, listed), 1 when any failed,\n" +
        "2 on usage errors (a bad name, an unreadable source, no token).\n\n" +
        "Examples:\n" +
        "  nixcache secrets sync --repo me/app --from ../nix-secrets --identity ~/.ssh/id_ed25519 --dry-run\n" +
        "  nixcache secrets sync --repo me/app --set CACHIX_AUTH_TOKEN=CACHIX_AUTH_TOKEN --variable CACHIX_NAME=mycache\n" +
        "  nixcache secrets sync --repo me/app --from ci.env --api-url https://ghe.example.com/api/v3 --json",
    )
    .action(async (flags: SyncFlags) => {
      const usage = async <T>(f: () => Promise<T> | T): Promise<T> => {
        try {
          return await f();
        } catch (e) {
          if (e instanceof NixcacheError && (e.code === "usage" || e.code === "invalid"))
            throw new UserError(e.message, 2);
          throw e;
        }
      };
      await usage(() => gh.parseRepo(flags.repo));
      const identities = (
        await usage(() => Promise.all((flags.identity ?? []).map((f) => readIdentityFile(f))))
      ).flat();
      // Later sources win, as with layered dotenv files; each name is GitHub's.
      const secrets = new Map<string, { name: string; value: string; source: string }>();
      for (const f of flags.from ?? [])
        for (const s of await usage(() => readSecretSource(f, { identities }))) {
          const name = await usage(() => gh.actionsName(s.name, "secret"));
          secrets.set(name, { ...s, name });
        }
      for (const spec of flags.set ?? []) {
        const s = await usage(() => readEnvSource(spec));
        const name = await usage(() => gh.actionsName(s.name, "secret"));
        secrets.set(name, { ...s, name });
      }
      const variables = new Map<string, { name: string; value: string; source: string }>();
      for (const spec of flags.variable ?? []) {
        const eq = spec.indexOf("=");
        if (eq <= 0) throw new UserError(`--variable ${JSON.stringify(spec)}: expected NAME=VALUE`, 2);
        const name = await usage(() => gh.actionsName(spec.slice(0, eq), "variable"));
        variables.set(name, { name, value: spec.slice(eq + 1), source: "--variable" });
      }
      if (secrets.size + variables.size === 0)
        throw new UserError("nothing to sync: give --from, --set or --variable", 2);

      const token = rest.githubToken();
      if (!token && !flags.dryRun) throw new UserError("no GitHub token: set GITHUB_TOKEN or GH_TOKEN", 2);
      const client = token
        ? await rest.githubClient(flags.apiUrl ? { token, apiUrl: flags.apiUrl } : { token })
        : null;
      const report = await gh.syncActions(client, {
        repo: flags.repo,
        secrets: [...secrets.values()],
        variables: [...variables.values()],
        dryRun: flags.dryRun === true,
      });
      if (flags.json) printJson(report);
      else process.stdout.write(gh.formatSyncReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
