import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { NixcacheError } from "../util/errors.js";

// DER wrappers that turn raw ed25519 bytes into keys Node's crypto accepts.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export class KeyFormatError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", message, options);
  }
}

export interface SecretKey {
  readonly name: string;
  /** 32-byte ed25519 seed. */
  readonly seed: Buffer;
  /** 32-byte public key, as stored after the seed in Nix's secret key format. */
  readonly publicKey: Buffer;
}

export interface PublicKey {
  readonly name: string;
  readonly key: Buffer;
}

/** Splits `<name>:<base64>`; the message never includes the key material itself. */
function splitKeyText(text: string, what: string, size: number): { name: string; bytes: Buffer } {
  const t = text.trim();
  const colon = t.indexOf(":");
  if (colon <= 0) throw new KeyFormatError(`${what} is not of the form <name>:<base64>`);
  const name = t.slice(0, colon);
  const b64 = t.slice(colon + 1);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    throw new KeyFormatError(`${what} ${JSON.stringify(name)} has invalid base64`);
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length !== size) {
    throw new KeyFormatError(`${what} ${JSON.stringify(name)} holds ${bytes.length} bytes, expected ${size}`);
  }
  return { name, bytes };
}

/** Parses Nix's secret key text: `<name>:<base64 of seed ‖ public key>`. */
export function parseSecretKey(text: string): SecretKey {
  const { name, bytes } = splitKeyText(text, "secret key", 64);
  const seed = bytes.subarray(0, 32);
  const publicKey = bytes.subarray(32);
  const derived = rawPublicKey(privateKeyObject(seed));
  if (!derived.equals(publicKey)) {
    throw new KeyFormatError(
      `secret key ${JSON.stringify(name)} is inconsistent: its public half does not match its seed`,
    );
  }
  return { name, seed: Buffer.from(seed), publicKey: Buffer.from(publicKey) };
}

/** Parses Nix's public key text: `<name>:<base64 of 32 bytes>`. */
export function parsePublicKey(text: string): PublicKey {
  const { name, bytes } = splitKeyText(text, "public key", 32);
  return { name, key: bytes };
}

export function formatSecretKey(k: SecretKey): string {
  return `${k.name}:${Buffer.concat([k.seed, k.publicKey]).toString("base64")}`;
}

export function formatPublicKey(k: PublicKey): string {
  return `${k.name}:${k.key.toString("base64")}`;
}

export function publicKeyOf(k: SecretKey): PublicKey {
  return { name: k.name, key: k.publicKey };
}

export function secretKeyFromSeed(name: string, seed: Buffer): SecretKey {
  if (seed.length !== 32) throw new KeyFormatError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  return { name, seed: Buffer.from(seed), publicKey: rawPublicKey(privateKeyObject(seed)) };
}

export function generateSecretKey(name: string): SecretKey {
  if (!name || name.includes(":"))
    throw new KeyFormatError(`key name ${JSON.stringify(name)} must be non-empty and contain no ':'`);
  const { privateKey } = generateKeyPairSync("ed25519");
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  return secretKeyFromSeed(name, Buffer.from(der.subarray(der.length - 32)));
}

// Importing a key costs ~1.5 ms, once per signature before: a push signs hundreds of narinfos.
const keyObjects = new WeakMap<Buffer, KeyObject>();

function privateKeyObject(seed: Buffer): KeyObject {
  let k = keyObjects.get(seed);
  if (!k) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
    keyObjects.set(seed, k);
  }
  return k;
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 32));
}

/** Signs `message`, returning the raw 64-byte signature. */
export function signRaw(key: SecretKey, message: string | Buffer): Buffer {
  return sign(null, Buffer.from(message), privateKeyObject(key.seed));
}

/** A `Sig:` value: `<keyname>:<base64 signature>`. */
export function signDetached(key: SecretKey, message: string | Buffer): string {
  return `${key.name}:${signRaw(key, message).toString("base64")}`;
}

export function verifyRaw(key: PublicKey, message: string | Buffer, signature: Buffer): boolean {
  if (signature.length !== 64) return false;
  const pub = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key.key]), format: "der", type: "spki" });
  return verify(null, Buffer.from(message), pub, signature);
}

/**
 * Checks one `<keyname>:<base64>` signature against the trusted keys, as Nix does: the key is chosen
 * by name, so a signature from an untrusted name never verifies. Returns the key that verified it.
 */
export function verifyDetached(
  message: string | Buffer,
  sig: string,
  trusted: readonly PublicKey[],
): PublicKey | undefined {
  const colon = sig.indexOf(":");
  if (colon <= 0) return undefined;
  const name = sig.slice(0, colon);
  const raw = Buffer.from(sig.slice(colon + 1), "base64");
  for (const key of trusted) if (key.name === name && verifyRaw(key, message, raw)) return key;
  return undefined;
}
