import type { Command } from "commander";
import { z } from "zod";
import {
  adminCreatePersonalToken,
  adminCreateToken,
  adminListTokens,
  adminRevokeOidcTokens,
  adminRevokeToken,
} from "../server/admin.js";
import { describeGrant, tokenState } from "../server/auth/tokens.js";
import { PERMISSIONS, type Permission, type TokenRow } from "../server/metadata/types.js";
import { parseDuration } from "../util/quantity.js";
import { readStdin } from "../util/stdin.js";
import { escapeControl } from "../util/terminal.js";
import { admin } from "./cache.js";
import { printJson, UserError } from "./output.js";
import { addStateOptions, type StateFlags, stateLocation } from "./state-flags.js";
import { registerTokenInspect } from "./token-inspect.js";

/** `90d`, `12h`, `1y`, ... → milliseconds; a lifetime must be longer than nothing. */
function parseExpires(s: string): number {
  let ms = 0;
  try {
    ms = parseDuration(s, { requireUnit: true });
  } catch {}
  if (ms <= 0)
    throw new UserError(`--expires ${JSON.stringify(s)} is not a duration like 30m, 12h, 90d, 1y`, 2);
  return ms;
}

const Perm = z.enum(PERMISSIONS as [Permission, ...Permission[]]);

/**
 * The `token` group. Subcommands are added by separate functions so that others (e.g. `token
 * inspect`, which asks a remote API) can join the same group: call `tokenGroup(program)` to get it.
 */
export function tokenGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === "token");
  if (existing) return existing;
  return program.command("token").description("create, list, revoke and inspect cache tokens");
}

export function registerTokenCommands(program: Command): void {
  const token = tokenGroup(program);

  token
    .command("create")
    .description(
      "Create a token for one cache of a `nixcache serve` data directory and print it on stdout (and " +
        "nothing else). Only its hash is stored: this is the one time it is shown. Nix sends it as the " +
        "password of a netrc entry; other clients as `Authorization: Bearer`.",
    )
    .option("--cache <name>", "the cache the token is for (a cache token)")
    .option("--perm <perm>", "read | write | admin (each includes the ones before)")
    .option(
      "--personal",
      "make a personal token instead: it acts for --account on the Cachix-compatible API (creates caches and their tokens)",
    )
    .option("--account <name>", "with --personal: the account (created when new)")
    .option("--expires <duration>", "lifetime, e.g. 30m, 12h, 90d, 1y (default: never)")
    .option("--description <text>", "a note shown by `token list`")
    .addHelpText(
      "after",
      "\nExample:\n  nixcache token create --data /var/lib/nixcache --cache main --perm write --expires 90d\n" +
        "  # netrc: machine HOST password <token>\n" +
        "  nixcache token create --data /var/lib/nixcache --personal --account alice > personal.token\n" +
        "  # CACHIX_AUTH_TOKEN=$(cat personal.token) nixcache provision cachix://main --cachix-api http://HOST:7080/api/v1",
    )
    .action(
      async (
        o: StateFlags & {
          cache?: string;
          perm?: string;
          personal?: boolean;
          account?: string;
          expires?: string;
          description?: string;
        },
      ) => {
        const expiresAt = o.expires ? Date.now() + parseExpires(o.expires) : null;
        if (o.personal) {
          if (!o.account) throw new UserError("--personal needs --account NAME", 2);
          if (o.cache || o.perm)
            throw new UserError(
              "a personal token is for an account: drop --cache/--perm, or drop --personal",
              2,
            );
          const { token: text } = await admin(() =>
            adminCreatePersonalToken(stateLocation(o), {
              account: o.account as string,
              expiresAt,
              description: o.description,
            }),
          );
          process.stdout.write(`${text}\n`);
          return;
        }
        if (!o.cache)
          throw new UserError(
            "required option '--cache <name>' not specified (or use --personal --account NAME)",
            2,
          );
        if (!o.perm) throw new UserError("required option '--perm <perm>' not specified", 2);
        const perm = Perm.safeParse(o.perm);
        if (!perm.success)
          throw new UserError(`--perm ${JSON.stringify(o.perm)} must be read, write or admin`, 2);
        const { token: text } = await admin(() =>
          adminCreateToken(stateLocation(o), {
            cache: o.cache as string,
            perm: perm.data,
            expiresAt,
            description: o.description,
          }),
        );
        process.stdout.write(`${text}\n`);
      },
    );

  registerTokenInspect(token);

  token
    .command("revoke")
    .description(
      "Revoke a token, named by its id (tok_…, from `token list`) or by the token itself; `-` reads " +
        "it from stdin so it never appears in a process list. Or revoke at once every working token the " +
        "OIDC exchange minted for a CI identity (--subject, with --issuer to name its issuer) or under a " +
        "trust rule (--rule, an id from `cache trust list`). Takes effect on the server's next request.",
    )
    .argument("[id-or-token]", "tok_… id, the token, or - for stdin")
    .option("--subject <sub>", "every OIDC-minted token of this identity token subject (`sub`), exactly")
    .option("--issuer <url>", "with --subject: of this issuer only")
    .option("--rule <id>", "every OIDC-minted token a trust rule granted (rule_…)")
    .option("--json", "print the revoked tokens' records as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  nixcache token revoke tok_3f2a9c1b7d4e --data /var/lib/nixcache\n" +
        "  nixcache token revoke --subject 'repo:example-org/flake:ref:refs/heads/main' --data /var/lib/nixcache\n" +
        "  nixcache token revoke --rule rule_3f2a9c1b --data /var/lib/nixcache",
    )
    .action(
      async (
        arg: string | undefined,
        o: StateFlags & { json?: boolean; subject?: string; issuer?: string; rule?: string },
      ) => {
        const bulk = o.subject !== undefined || o.rule !== undefined;
        if (o.issuer !== undefined && o.subject === undefined)
          throw new UserError("--issuer goes with --subject", 2);
        if (o.rule !== undefined && !/^rule_[0-9a-f]+$/.test(o.rule))
          throw new UserError(
            `--rule ${JSON.stringify(o.rule)} is not a trust rule id (rule_…, from \`cache trust list\`)`,
            2,
          );
        if (bulk) {
          if (arg !== undefined) throw new UserError("name a token, or --subject/--rule, not both", 2);
          const rows = await admin(() =>
            adminRevokeOidcTokens(stateLocation(o), { subject: o.subject, issuer: o.issuer, rule: o.rule }),
          );
          if (o.json) return printJson(rows.map(tokenJson));
          const what = [
            o.subject !== undefined ? `subject ${JSON.stringify(o.subject)}` : "",
            o.issuer !== undefined ? `of ${o.issuer}` : "",
            o.rule !== undefined ? `${o.subject !== undefined ? "under" : "trust rule"} ${o.rule}` : "",
          ]
            .filter(Boolean)
            .join(" ");
          process.stderr.write(
            `${escapeControl(`revoked ${rows.length} token${rows.length === 1 ? "" : "s"} of ${what}`)}${rows.length ? `: ${rows.map((r) => r.id).join(", ")}` : ""}\n`,
          );
          return;
        }
        if (arg === undefined)
          throw new UserError(
            "name the token to revoke (tok_…, the token, or -), or use --subject/--rule",
            2,
          );
        const idOrToken = arg === "-" ? (await readStdin()).trim() : arg;
        if (!idOrToken) throw new UserError("no token given on stdin", 2);
        const row = await admin(() => adminRevokeToken(stateLocation(o), idOrToken));
        if (o.json) printJson(tokenJson(row));
        else process.stderr.write(`revoked ${row.id} (${escapeControl(describeGrant(row))})\n`);
      },
    );

  token
    .command("list")
    .description(
      "List the tokens of a data directory (ids and permissions; tokens themselves are not stored): " +
        "id, cache (personal:ACCOUNT for personal tokens, oidc:CACHE=PERM,… for tokens the OIDC exchange " +
        "minted, whose description is the CI job's identity `sub`), perm, state, expiry, description.",
    )
    .option(
      "--json",
      "print an array of {id, cache, perm, description, createdAt, expiresAt, revokedAt, kind, account, grants, oidc: {issuer, subject, rules} | null}",
    )
    .addHelpText("after", "\nExample:\n  nixcache token list --data /var/lib/nixcache")
    .action(async (o: StateFlags & { json?: boolean }) => {
      const rows = await admin(() => adminListTokens(stateLocation(o)));
      if (o.json) return printJson(rows.map(tokenJson));
      const now = Date.now();
      for (const r of rows) {
        const state = tokenState(r, now);
        const exp = r.expiresAt === null ? "never expires" : `expires ${new Date(r.expiresAt).toISOString()}`;
        const owner =
          r.kind === "personal"
            ? `personal:${r.account}`
            : r.kind === "oidc"
              ? `oidc:${Object.entries(r.grants ?? {})
                  .map(([c, p]) => `${c}=${p}`)
                  .sort()
                  .join(",")}`
              : r.cache;
        const fields = [r.id, owner, r.perm, state, exp, ...(r.description ? [r.description] : [])];
        process.stdout.write(`${fields.map(escapeControl).join("\t")}\n`);
      }
    });

  for (const c of token.commands) if (c.name() !== "inspect") addStateOptions(c);
}

function tokenJson(r: TokenRow) {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: r.id,
    cache: r.cache,
    perm: r.perm,
    description: r.description,
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    revokedAt: iso(r.revokedAt),
    kind: r.kind,
    account: r.account,
    grants: r.grants,
    oidc: r.oidc && { issuer: r.oidc.issuer, subject: r.oidc.subject, rules: r.oidc.rules },
  };
}
