import { constants } from "node:fs";
import { open, readFile } from "node:fs/promises";
// Key files: writing a new pair, and the one reader of signing and trusted keys for every command.
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  KeyFormatError,
  type PublicKey,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  type SecretKey,
  secretKeyFromSeed,
} from "../nix/signing.js";
import { NixcacheError } from "../util/errors.js";

/**
 * Writes a new file with the given mode, refusing to replace an existing one unless `overwrite`.
 * O_EXCL (or O_TRUNC after chmod) keeps a secret from ever sitting in a world-readable file.
 */
async function writeNewFile(path: string, text: string, mode: number, overwrite: boolean): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | (overwrite ? constants.O_TRUNC : constants.O_EXCL);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, flags, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new NixcacheError("conflict", `${path} already exists; pass --force to replace it`);
    }
    throw new NixcacheError("failed", `cannot write ${path}: ${(e as Error).message}`);
  }
  try {
    await fh.chmod(mode);
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/** Generates a key pair and writes it in the format of `nix-store --generate-binary-cache-key` (no newline). */
export async function generateKeyFiles(
  name: string,
  secretPath: string,
  publicPath: string,
  overwrite = false,
): Promise<PublicKey> {
  const key = generateSecretKey(name);
  await writeNewFile(secretPath, formatSecretKey(key), 0o600, overwrite);
  await writeNewFile(publicPath, formatPublicKey(publicKeyOf(key)), 0o644, overwrite);
  return publicKeyOf(key);
}

/** The two texts a signing key comes in: Nix's `name:base64`, or cachix's base64 with no name. */
export type SigningKeyFormat = "nix" | "cachix";

/** Reads `CACHIX_SIGNING_KEY` as cachix does: base64 of seed ‖ public key, surrounding space ignored. */
export function parseCachixSigningKey(text: string): SecretKey {
  const raw = Buffer.from(text.trim(), "base64");
  if (!text.trim()) throw new KeyFormatError("CACHIX_SIGNING_KEY is empty");
  if (raw.length !== 64)
    throw new KeyFormatError(
      `CACHIX_SIGNING_KEY holds ${raw.length} bytes, expected the base64 of 64 (seed and public key)`,
    );
  const key = secretKeyFromSeed("cachix", raw.subarray(0, 32));
  if (!key.publicKey.equals(raw.subarray(32)))
    throw new KeyFormatError("CACHIX_SIGNING_KEY is inconsistent: its public half does not match its seed");
  return key;
}

/** A signing key in either text: a name prefix (`name:`) makes it Nix's, none cachix's. */
export function parseSigningKey(
  text: string,
  formats: readonly SigningKeyFormat[] = ["nix", "cachix"],
): { key: SecretKey; format: SigningKeyFormat } {
  const t = text.trim();
  const only = formats.length === 1 ? formats[0] : undefined;
  const format: SigningKeyFormat = only ?? (t.includes(":") ? "nix" : "cachix");
  return { key: format === "nix" ? parseSecretKey(t) : parseCachixSigningKey(t), format };
}

/**
 * The one reader of signing key files, for every command: `formats` says which texts are
 * accepted. Errors name the file (`${what} FILE: reason`), never its contents.
 */
export async function readSigningKey(
  path: string,
  opts: { what?: string; formats?: readonly SigningKeyFormat[] } = {},
): Promise<{ key: SecretKey; format: SigningKeyFormat }> {
  const what = opts.what ?? "signing key";
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new NixcacheError(
      "usage",
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return parseSigningKey(text, opts.formats);
  } catch (e) {
    throw new NixcacheError("usage", `${what} ${path}: ${(e as Error).message}`);
  }
}

/** A Nix secret key file (as `nix-store --generate-binary-cache-key` writes). */
export async function readSecretKeyFile(path: string): Promise<SecretKey> {
  return (await readSigningKey(path, { what: "secret key file", formats: ["nix"] })).key;
}

/**
 * Reads a trusted key given on the command line: either the key text itself (`name:base64`) or
 * the path of a file holding it, as Nix's own options accept both in different places. Every
 * command that takes trusted keys reads them with this.
 */
export async function readPublicKeyArg(arg: string): Promise<PublicKey> {
  if (/^[^/:]+:[A-Za-z0-9+/]+={0,2}$/.test(arg.trim())) return parsePublicKey(arg);
  let text: string;
  try {
    text = await readFile(arg, "utf8");
  } catch {
    // Named only when it looks like a path: a mistyped secret must not end up in a CI log.
    const shown = /^[./~]/.test(arg) ? ` ${JSON.stringify(arg)}` : "";
    throw new KeyFormatError(`trusted key${shown} is neither a public key (name:base64) nor a readable file`);
  }
  return parsePublicKey(text);
}
