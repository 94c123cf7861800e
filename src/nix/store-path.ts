import { createHash } from "node:crypto";
import { NixcacheError } from "../util/errors.js";
import { compressHash, formatHashHex, type Hash } from "./hash.js";
import { NIX32_ALPHABET, nix32Encode } from "./nix32.js";

export const DEFAULT_STORE_DIR = "/nix/store";
export const STORE_HASH_LENGTH = 32;
export const MAX_NAME_LENGTH = 211;

export class StorePathError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", message, options);
  }
}

/** A parsed store path. `base` is `<hash>-<name>`, the form narinfo References use. */
export interface StorePath {
  readonly storeDir: string;
  readonly hash: string;
  readonly name: string;
  readonly base: string;
  readonly path: string;
}

const NAME_CHARS = /^[0-9a-zA-Z+\-._?=]+$/;
const HASH_RE = new RegExp(`^[${NIX32_ALPHABET}]{${STORE_HASH_LENGTH}}$`);

export function isStoreHash(s: string): boolean {
  return HASH_RE.test(s);
}

/** Returns `s` when it is the 32-character hash part of a store path; throws otherwise. */
export function checkStoreHash(s: string): string {
  if (!isStoreHash(s)) throw new StorePathError(`${JSON.stringify(s)} is not a store path hash`);
  return s;
}

/** Throws a StorePathError that says what is wrong with the name, or returns it unchanged. */
export function validateStorePathName(name: string): string {
  if (name.length === 0) throw new StorePathError("store path name is empty");
  if (name.length > MAX_NAME_LENGTH) {
    throw new StorePathError(`store path name is ${name.length} characters, longer than ${MAX_NAME_LENGTH}`);
  }
  // Nix refuses names starting with a dot (which covers "." and "..").
  if (name.startsWith("."))
    throw new StorePathError(`store path name ${JSON.stringify(name)} starts with a dot`);
  if (!NAME_CHARS.test(name)) {
    const bad = [...name].find((c) => !/[0-9a-zA-Z+\-._?=]/.test(c));
    throw new StorePathError(
      `store path name ${JSON.stringify(name)} contains the forbidden character ${JSON.stringify(bad)}`,
    );
  }
  return name;
}

/** Parses `<hash>-<name>` (a store path's base name). */
export function parseStorePathBase(base: string, storeDir = DEFAULT_STORE_DIR): StorePath {
  if (base.length < STORE_HASH_LENGTH + 2 || base[STORE_HASH_LENGTH] !== "-") {
    throw new StorePathError(`${JSON.stringify(base)} is not a store path base name (<32-char hash>-<name>)`);
  }
  const hash = base.slice(0, STORE_HASH_LENGTH);
  if (!isStoreHash(hash)) {
    throw new StorePathError(
      `store path ${JSON.stringify(base)} has an invalid hash part ${JSON.stringify(hash)}`,
    );
  }
  const name = validateStorePathName(base.slice(STORE_HASH_LENGTH + 1));
  return { storeDir, hash, name, base, path: `${storeDir}/${base}` };
}

/** Parses a full store path such as `/nix/store/<hash>-<name>`. Sub-paths inside it are refused. */
export function parseStorePath(path: string, storeDir = DEFAULT_STORE_DIR): StorePath {
  const prefix = `${storeDir}/`;
  if (!path.startsWith(prefix))
    throw new StorePathError(`path ${JSON.stringify(path)} is not in the Nix store ${storeDir}`);
  const base = path.slice(prefix.length);
  if (base.includes("/")) {
    throw new StorePathError(`path ${JSON.stringify(path)} is inside a store path, not a store path itself`);
  }
  return parseStorePathBase(base, storeDir);
}

/**
 * Nix's makeStorePath: the hash part is the 20-byte fold of
 * sha256("<type>:sha256:<hex inner hash>:<storeDir>:<name>").
 */
export function makeStorePath(
  type: string,
  inner: Hash,
  name: string,
  storeDir = DEFAULT_STORE_DIR,
): StorePath {
  validateStorePathName(name);
  const s = `${type}:${formatHashHex(inner)}:${storeDir}:${name}`;
  const digest = createHash("sha256").update(s).digest();
  const hash = nix32Encode(compressHash(digest, 20));
  return parseStorePathBase(`${hash}-${name}`, storeDir);
}

function typeWithReferences(type: string, references: readonly string[], selfReference: boolean): string {
  let t = type;
  for (const r of [...references].sort()) t += `:${r}`;
  if (selfReference) t += ":self";
  return t;
}

/** The path of a text file added with references (builtins.toFile, derivations). `references` are full paths. */
export function makeTextPath(
  hash: Hash,
  name: string,
  references: readonly string[] = [],
  storeDir = DEFAULT_STORE_DIR,
): StorePath {
  if (hash.algo !== "sha256") throw new StorePathError("text store paths need a sha256 hash");
  return makeStorePath(typeWithReferences("text", references, false), hash, name, storeDir);
}

/**
 * The path of a fixed-output (content-addressed) path. `recursive` means the hash is of the NAR
 * (`nix-store --add` of a directory, `fetchTarball`), otherwise of the flat file.
 */
export function makeFixedOutputPath(
  opts: {
    recursive: boolean;
    hash: Hash;
    name: string;
    references?: readonly string[];
    selfReference?: boolean;
  },
  storeDir = DEFAULT_STORE_DIR,
): StorePath {
  const { recursive, hash, name, references = [], selfReference = false } = opts;
  if (recursive && hash.algo === "sha256") {
    return makeStorePath(typeWithReferences("source", references, selfReference), hash, name, storeDir);
  }
  if (references.length > 0 || selfReference) {
    throw new StorePathError("only recursive sha256 fixed-output paths may have references");
  }
  const inner = createHash("sha256")
    .update(`fixed:out:${recursive ? "r:" : ""}${formatHashHex(hash)}:`)
    .digest();
  return makeStorePath("output:out", { algo: "sha256", digest: inner }, name, storeDir);
}
