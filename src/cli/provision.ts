import type { Command } from "commander";
import {
  ProvisionRefused,
  type ProvisionRequest,
  type ProvisionResult,
  provision,
} from "../cachix-admin/provision.js";
import { readSigningKey } from "../keys/key-files.js";
import { publicKeyOf } from "../nix/signing.js";
import { printJson, UserError } from "./output.js";
import { CACHIX_API_HELP, cachixApiFromFlags } from "./token-inspect.js";

interface Flags {
  public?: boolean;
  private?: boolean;
  managedKey?: boolean;
  signingKey?: string;
  dryRun?: boolean;
  json?: boolean;
  cachixApi?: string;
  token?: string;
}

export function registerProvisionCommands(program: Command): void {
  program
    .command("provision")
    .summary("create and configure a Cachix(-compatible) cache, idempotently")
    .description(
      "Create cachix://NAME through the Cachix API when the token allows it (a personal token), or stop " +
        "with the manual steps when it does not. Idempotent and convergent: an existing cache is brought " +
        "to the visibility and key asked for (PUT settings, POST key), and a second run changes nothing " +
        "and says so. Prints the substituter URL and the public keys; --json prints everything a later " +
        "step needs. The token is $CACHIX_AUTH_TOKEN (or --token); it is never printed. Exit status: 0 " +
        "when the cache is as asked (or, with --dry-run, the plan), 1 when the token cannot do it (the " +
        "manual steps are printed), 2 for usage errors.",
    )
    .argument("<cache>", "cachix://NAME")
    .option("--public", "anyone may read (default for a new cache)")
    .option("--private", "reads need a token")
    .option("--managed-key", "the server signs (default for a new cache)")
    .option(
      "--signing-key <file>",
      "sign with your own key: a Nix secret key file (name:base64) or cachix's base64 (CACHIX_SIGNING_KEY); its public half is registered",
    )
    .option("-n, --dry-run", "show the plan, change nothing")
    .option(
      "--json",
      "print {cache, api, substituter, publicKeys, isPublic, permission, created, changed, dryRun}",
    )
    .option("--cachix-api <url>", CACHIX_API_HELP)
    .option(
      "--token <token>",
      "API token (default: $CACHIX_AUTH_TOKEN, then $NIXCACHE_TOKEN; prefer the variable)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  CACHIX_AUTH_TOKEN=<personal token> nixcache provision cachix://my-cache --public\n" +
        "  nixcache provision cachix://main --private --signing-key ./cache.sec \\\n" +
        "      --cachix-api http://127.0.0.1:7080/api/v1 --json",
    )
    .action(async (target: string, o: Flags) => {
      process.exitCode = await runProvision(target, o);
    });
}

async function runProvision(target: string, o: Flags): Promise<number> {
  const m = /^cachix:\/\/([A-Za-z0-9][A-Za-z0-9._-]*)\/?$/.exec(target);
  if (!m) throw new UserError(`${JSON.stringify(target)} is not cachix://NAME`, 2);
  const name = m[1] as string;
  if (o.public && o.private) throw new UserError("--public and --private exclude each other", 2);
  if (o.managedKey && o.signingKey)
    throw new UserError("--managed-key and --signing-key exclude each other", 2);
  let key: ProvisionRequest["key"];
  if (o.signingKey) key = await readKey(o.signingKey);
  else if (o.managedKey) key = { kind: "managed" };
  const { api, token } = cachixApiFromFlags(o);
  let r: ProvisionResult;
  try {
    r = await provision(api, {
      name,
      isPublic: o.public ? true : o.private ? false : undefined,
      key,
      dryRun: o.dryRun,
      hasToken: !!token,
    });
  } catch (e) {
    if (e instanceof ProvisionRefused) {
      if (o.json)
        printJson({
          cache: name,
          api: api.apiUrl,
          refused: e.message,
          manualSteps: e.manualSteps,
          remedy: e.remedy,
        });
      process.stderr.write(
        `nixcache: error: ${e.message}\nnothing was changed. Do it by hand:\n${e.manualSteps
          .map((s, i) => `  ${i + 1}. ${s}`)
          .join("\n")}\nor get a token that can: ${e.remedy}\n`,
      );
      return 1;
    }
    throw new UserError(`provisioning cachix://${name} failed: ${(e as Error).message}`);
  } finally {
    await api.close();
  }
  if (o.json) {
    printJson(r);
    return 0;
  }
  const err = process.stderr;
  if (r.changed.length === 0) err.write(`cache ${name} is already as asked; nothing changed\n`);
  else for (const c of r.changed) err.write(`${r.dryRun ? "would " : ""}${c}\n`);
  if (r.substituter) process.stdout.write(`substituter: ${r.substituter}\n`);
  for (const k of r.publicKeys) process.stdout.write(`public key:  ${k}\n`);
  if (r.isPublic === false && r.substituter)
    err.write(
      `cache ${name} is private: Nix reads it with a netrc entry \`machine ${new URL(r.substituter).host} password <read token>\`\n`,
    );
  return 0;
}

async function readKey(file: string): Promise<ProvisionRequest["key"]> {
  const { key, format } = await readSigningKey(file);
  return { kind: "own", publicKey: publicKeyOf(key), named: format === "nix" };
}
