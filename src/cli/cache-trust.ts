// `nixcache cache trust add|list|remove`: the OIDC trust rules of a server's caches, which decide
// what `POST /api/v1/oidc/token` gives a CI job's identity token (docs/server/oidc.md).
import type { Command } from "commander";
import { adminAddTrustRule, adminListTrustRules, adminRemoveTrustRule } from "../server/admin.js";
import { GITHUB_ACTIONS_ISSUER } from "../server/auth/trust-rules.js";
import { AdminError } from "../server/errors.js";
import type { TrustRuleRow } from "../server/metadata/types.js";
import { escapeControl } from "../util/terminal.js";
import { printJson, UserError } from "./output.js";
import { addStateOptions, type StateFlags, stateLocation } from "./state-flags.js";

/** The admin layer's refusals as user errors: bad input exits 2, the rest 1. */
async function admin<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof AdminError) throw new UserError(e.message, e.code === "usage" ? 2 : 1);
    throw e;
  }
}

/** `--claim NAME=GLOB`, repeatable, into one object; a name given twice is refused. */
function collectClaim(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  const name = eq < 0 ? "" : value.slice(0, eq);
  if (eq <= 0)
    throw new UserError(`--claim ${JSON.stringify(value)} is not NAME=GLOB (e.g. event_name=push)`, 2);
  if (Object.hasOwn(previous, name)) throw new UserError(`--claim ${name} is given twice`, 2);
  return { ...previous, [name]: value.slice(eq + 1) };
}

function ruleJson(r: TrustRuleRow) {
  return {
    id: r.id,
    cache: r.cache,
    issuer: r.issuer,
    subject: r.subject,
    claims: r.claims,
    perm: r.perm,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

function ruleLine(r: TrustRuleRow): string {
  const claims = Object.entries(r.claims).map(([k, v]) => `${k}=${v}`);
  return [r.id, r.cache, r.perm, r.issuer, r.subject, ...claims].map(escapeControl).join("\t");
}

export function registerTrustCommands(cache: Command): void {
  const trust = cache
    .command("trust")
    .description(
      "OIDC trust rules: which CI identity tokens `POST /api/v1/oidc/token` exchanges for a short-lived " +
        "token with read or write on a cache (the server needs `serve --oidc-issuer`)",
    );

  trust
    .command("add")
    .description(
      "Trust identity tokens of --issuer whose `sub` matches --subject (and each --claim) with --perm on " +
        "the cache; prints the rule's id. Patterns: `*` any run of characters except `:`, `**` any run " +
        "including `:`, `?` one character except `:`; anchored, case-sensitive, no escapes. A rule for " +
        `GitHub Actions (${GITHUB_ACTIONS_ISSUER}) must pin the repository owner: --subject 'repo:OWNER/…' ` +
        "(no wildcard in OWNER), or --claim repository_owner=OWNER. GitHub's `sub` does not say which " +
        "event started a job: a write rule for pushes adds --claim event_name=push.",
    )
    .argument("<cache>", "the cache the rule grants access to")
    .requiredOption(
      "--issuer <url>",
      `the tokens' \`iss\`, exactly (GitHub Actions: ${GITHUB_ACTIONS_ISSUER})`,
    )
    .requiredOption(
      "--subject <glob>",
      "pattern for the token's `sub`, e.g. repo:ORG/REPO:ref:refs/heads/main",
    )
    .requiredOption("--perm <perm>", "read | write")
    .option(
      "--claim <name=glob>",
      "pattern for another claim (repeatable), e.g. event_name=push",
      collectClaim,
    )
    .option("--json", "print the rule as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  # pushes to main of example-org/flake may write; its pull requests (not forks': they get no\n" +
        "  # identity token) may read a private cache\n" +
        `  nixcache cache trust add main --data /var/lib/nixcache --issuer ${GITHUB_ACTIONS_ISSUER} \\\n` +
        "    --subject 'repo:example-org/flake:ref:refs/heads/main' --claim event_name=push --perm write\n" +
        `  nixcache cache trust add main --data /var/lib/nixcache --issuer ${GITHUB_ACTIONS_ISSUER} \\\n` +
        "    --subject 'repo:example-org/flake:pull_request' --perm read",
    )
    .action(
      async (
        name: string,
        o: StateFlags & {
          issuer: string;
          subject: string;
          perm: string;
          claim?: Record<string, string>;
          json?: boolean;
        },
      ) => {
        if (o.perm !== "read" && o.perm !== "write")
          throw new UserError(`--perm ${JSON.stringify(o.perm)} must be read or write`, 2);
        const row = await admin(() =>
          adminAddTrustRule(stateLocation(o), {
            cache: name,
            issuer: o.issuer,
            subject: o.subject,
            ...(o.claim ? { claims: o.claim } : {}),
            perm: o.perm,
          }),
        );
        if (o.json) printJson(ruleJson(row));
        else process.stdout.write(`${row.id}\n`);
      },
    );

  trust
    .command("list")
    .description(
      "List the trust rules of a cache (or of every cache): id, cache, perm, issuer, subject, claims.",
    )
    .argument("[cache]", "only this cache's rules")
    .option("--json", "print an array of {id, cache, issuer, subject, claims, perm, createdAt}")
    .addHelpText("after", "\nExample:\n  nixcache cache trust list main --data /var/lib/nixcache")
    .action(async (name: string | undefined, o: StateFlags & { json?: boolean }) => {
      const rows = await admin(() => adminListTrustRules(stateLocation(o), name));
      if (o.json) return printJson(rows.map(ruleJson));
      if (rows.length === 0) {
        process.stderr.write(
          `no trust rules${name ? ` for cache ${name}` : ""}; add one with \`nixcache cache trust add\`\n`,
        );
        return;
      }
      for (const r of rows) process.stdout.write(`${ruleLine(r)}\n`);
    });

  trust
    .command("remove")
    .description(
      "Remove a cache's trust rule by id (from `cache trust list`). Tokens it already granted keep " +
        "working until they expire; `nixcache token revoke` ends them sooner.",
    )
    .argument("<cache>", "the cache")
    .argument("<id>", "the rule's id, rule_…")
    .addHelpText(
      "after",
      "\nExample:\n  nixcache cache trust remove main rule_3f2a9c1b --data /var/lib/nixcache",
    )
    .action(async (name: string, id: string, o: StateFlags) => {
      await admin(() => adminRemoveTrustRule(stateLocation(o), name, id));
      process.stderr.write(`removed ${escapeControl(id)} from cache ${escapeControl(name)}\n`);
    });

  for (const c of trust.commands) addStateOptions(c);
}
