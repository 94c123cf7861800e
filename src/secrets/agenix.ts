// An agenix-style secrets directory: `secrets.nix` maps each secret file to the public keys it is
// encrypted to (`"cachix-token.age".publicKeys = [ alice ci ];`), beside the `.age` files
// themselves. secrets.nix is a Nix expression (let bindings, lists joined with ++), so the real Nix
// evaluates it; each listed file becomes one secret, named after the file.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { evalImpureJson } from "../local-nix/flake-eval.js";
import { NixcacheError } from "../util/errors.js";
import { type AgeIdentity, decryptAge } from "./age.js";

const EXPR =
  'builtins.mapAttrs (n: v: v.publicKeys or []) (import (/. + builtins.getEnv "NIXCACHE_SECRETS_NIX"))';

/** `cachix-auth-token.age` → `CACHIX_AUTH_TOKEN`. */
export function secretNameOfFile(file: string): string {
  return path
    .basename(file)
    .replace(/\.age$/, "")
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, "_");
}

/** The files secrets.nix lists, with the public keys each is encrypted to. */
export async function readSecretsNix(dir: string, shown = dir): Promise<Map<string, string[]>> {
  const file = path.join(dir, "secrets.nix");
  if (!existsSync(file))
    throw new NixcacheError("usage", `${shown} is not an agenix directory: it has no secrets.nix`);
  const json = (await evalImpureJson(
    EXPR,
    { NIXCACHE_SECRETS_NIX: file },
    (why) => new NixcacheError("usage", `cannot evaluate ${path.join(shown, "secrets.nix")}: ${why}`),
  )) as Record<string, unknown>;
  return new Map(
    Object.entries(json).map(([f, keys]) => [
      f,
      Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [],
    ]),
  );
}

/** `ssh-ed25519 AAAA... comment` and `age1...` compared without comments. */
const recipientId = (r: string) => r.trim().split(/\s+/).slice(0, 2).join(" ");

/**
 * Decrypts every file secrets.nix lists. The value is the file's content less one trailing
 * newline (what `echo token | agenix -e` leaves). A file none of the identities can open is an
 * error that says whether secrets.nix lists any of them as a recipient.
 */
export async function readAgenixDir(
  dir: string,
  identities: readonly AgeIdentity[],
  shown = dir,
): Promise<Array<{ name: string; value: string; source: string }>> {
  const files = await readSecretsNix(dir, shown);
  if (identities.length === 0)
    throw new NixcacheError(
      "usage",
      `${shown} holds age-encrypted secrets: pass --identity FILE to decrypt them`,
    );
  const mine = new Set(identities.map((i) => recipientId(i.recipient)));
  const out: Array<{ name: string; value: string; source: string }> = [];
  for (const [file, recipients] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const full = path.join(dir, file);
    const fileShown = path.join(shown, file);
    if (!existsSync(full))
      throw new NixcacheError("usage", `${fileShown} is listed in secrets.nix but does not exist`);
    const listed = recipients.some((r) => mine.has(recipientId(r)));
    let text: string;
    try {
      text = await decryptAge(await readFile(full), identities, fileShown);
    } catch (e) {
      if (!listed && e instanceof NixcacheError)
        throw new NixcacheError(
          e.code,
          `${e.message} (secrets.nix does not list the identity's public key among its ${recipients.length} recipients: re-key it with agenix -r)`,
        );
      throw e;
    }
    out.push({ name: secretNameOfFile(file), value: text.replace(/\n$/, ""), source: fileShown });
  }
  return out;
}
