import { constants } from "node:fs";
import { open, readFile } from "node:fs/promises";
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  type PublicKey,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  type SecretKey,
} from "../nix/signing.js";

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
      throw new Error(`${path} already exists; pass --force to replace it`);
    }
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
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

export async function readSecretKeyFile(path: string): Promise<SecretKey> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(
      `cannot read secret key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return parseSecretKey(text);
  } catch (e) {
    throw new Error(`secret key file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads a trusted key given on the command line: either the key text itself (`name:base64`) or
 * the path of a file holding it, as Nix's own options accept both in different places.
 */
export async function readPublicKeyArg(arg: string): Promise<PublicKey> {
  if (/^[^/:]+:[A-Za-z0-9+/]+={0,2}$/.test(arg.trim())) return parsePublicKey(arg);
  let text: string;
  try {
    text = await readFile(arg, "utf8");
  } catch {
    throw new Error(
      `trusted key ${JSON.stringify(arg)} is neither a public key (name:base64) nor a readable file`,
    );
  }
  return parsePublicKey(text);
}
