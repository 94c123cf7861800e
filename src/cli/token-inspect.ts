import type { Command } from "commander";
import { type CachixApi, openCachixApi } from "../caches/cachix/client.js";
import { formatInspection } from "../cachix-admin/format-inspection.js";
import { inspectToken, type TokenInspection } from "../cachix-admin/inspect.js";
import { DEFAULT_CACHIX_API } from "../cachix-api/constants.js";
import { printJson, UserError } from "./output.js";

export const CACHIX_API_HELP = `Cachix-compatible API (default: $NIXCACHE_CACHIX_API, else ${DEFAULT_CACHIX_API})`;

/** The API client for a command's --cachix-api and --token flags (defaults: see openCachixApi). */
export function cachixApiFromFlags(o: { cachixApi?: string; token?: string }): {
  api: CachixApi;
  token?: string;
} {
  return openCachixApi({ apiUrl: o.cachixApi, token: o.token });
}

/** `nixcache token inspect`, added to the `token` group. */
export function registerTokenInspect(token: Command): void {
  token
    .command("inspect")
    .summary("what a Cachix API token is and may do, with the remedy for each no")
    .description(
      "Say what a Cachix API token is (personal or cache token, its JWT claims when it is one; never " +
        "the token itself) and, for each step of a migration (read, push, create a cache, create tokens, " +
        "set a signing key), whether it may do it, why, and for each no the concrete remedy. It asks the " +
        "API (GET /user, GET /cache/NAME, GET /token); it does not guess. The token is $CACHIX_AUTH_TOKEN " +
        "or --token. Exit status: 0 when the inspection ran (whatever the answers), 1 when the API could " +
        "not be asked or the cache does not exist, 2 for usage errors.",
    )
    .option("--cache <name>", "the cache to check the steps against")
    .option("--cachix-api <url>", CACHIX_API_HELP)
    .option(
      "--token <token>",
      "the token to inspect (default: $CACHIX_AUTH_TOKEN, then $NIXCACHE_TOKEN; prefer the variable)",
    )
    .option(
      "--json",
      "print {api, token: {kind, jwtClaims, account, managesTokens}, cache, steps: [{step, allowed, reason, remedy}]}",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  CACHIX_AUTH_TOKEN=... nixcache token inspect --cache my-cache\n" +
        "  nixcache token inspect --cache main --cachix-api http://127.0.0.1:7080/api/v1 --json",
    )
    .action(async (o: { cache?: string; cachixApi?: string; token?: string; json?: boolean }) => {
      const { api, token } = cachixApiFromFlags(o);
      let report: TokenInspection;
      try {
        report = await inspectToken(api, { token, cache: o.cache });
      } catch (e) {
        throw new UserError(`cannot inspect the token: ${(e as Error).message}`);
      } finally {
        await api.close();
      }
      if (o.json) printJson(report);
      else process.stdout.write(formatInspection(report));
      if (report.cache?.exists === false) {
        process.stderr.write(`nixcache: error: Binary cache ${report.cache.name} does not exist.\n`);
        process.exitCode = 1;
      }
    });
}
