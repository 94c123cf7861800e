import { NixcacheError } from "../util/errors.js";
import { formatHashNix32, type Hash, HashParseError, parseHash } from "./hash.js";
import { type PublicKey, type SecretKey, signDetached, verifyDetached } from "./signing.js";
import {
  DEFAULT_STORE_DIR,
  parseStorePath,
  parseStorePathBase,
  type StorePath,
  StorePathError,
} from "./store-path.js";

export class NarInfoError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", message, options);
  }
}

/** A `.narinfo` file. References and deriver are base names (`<hash>-<name>`), as on the wire. */
export interface NarInfo {
  storePath: string;
  url: string;
  /** Always set when parsed: an absent `Compression:` means bzip2. */
  compression: string;
  fileHash?: Hash;
  fileSize?: number;
  narHash: Hash;
  narSize: number;
  references: string[];
  /** Base name of the deriver; undefined for none (`unknown-deriver`). */
  deriver?: string;
  system?: string;
  sigs: string[];
  ca?: string;
  /** Keys this parser does not know, in file order; kept so nothing is lost when re-written. */
  extra: Array<[string, string]>;
}

/** What a narinfo says about the path itself: all known before its NAR is stored. */
export interface NarInfoPath {
  /** Full store path. */
  storePath: string;
  narHash: Hash;
  narSize: number;
  /** Base names (`<hash>-<name>`). */
  references: string[];
  /** Base name of the deriver, when known. */
  deriver?: string;
  /** Signatures to publish (`<keyname>:<base64>`). */
  sigs: string[];
  ca?: string;
}

/** The stored file a narinfo points at. */
export interface NarInfoFile {
  /** Relative to the cache root. */
  url: string;
  compression: string;
  fileHash: Hash;
  fileSize: number;
}

/**
 * The narinfo that publishes `path` stored as `file`: the one builder every upload path uses
 * (file, HTTP and Cachix backends), so they cannot differ in what they write. References sorted.
 */
export function buildNarInfo(path: NarInfoPath, file: NarInfoFile): NarInfo {
  return {
    storePath: path.storePath,
    url: file.url,
    compression: file.compression,
    fileHash: file.fileHash,
    fileSize: file.fileSize,
    narHash: path.narHash,
    narSize: path.narSize,
    references: [...path.references].sort(),
    deriver: path.deriver,
    sigs: path.sigs,
    ca: path.ca,
    extra: [],
  };
}

export const MAX_NARINFO_SIZE = 1 << 20;

/**
 * Checks a content address as Nix parses one: `text:sha256:<hash>` or `fixed:[r:]<algo>:<hash>`
 * (hash in base16, nix32 or base64); returns it unchanged.
 */
export function parseContentAddress(ca: string): string {
  const bad = (why: string) =>
    new NarInfoError(
      `invalid content address ${JSON.stringify(ca)}: ${why} (expected text:sha256:<hash> or fixed:[r:]<algo>:<hash>)`,
    );
  let hash: string;
  if (ca.startsWith("text:")) hash = ca.slice(5);
  else if (ca.startsWith("fixed:")) hash = ca.slice(ca.startsWith("fixed:r:") ? 8 : 6);
  else throw bad("unknown method");
  if (!/^[a-z0-9]+:/.test(hash)) throw bad("the hash does not name its algorithm");
  try {
    const h = parseHash(hash);
    if (ca.startsWith("text:") && h.algo !== "sha256") throw bad("text: addresses are sha256");
  } catch (e) {
    if (e instanceof HashParseError) throw bad(e.message);
    throw e;
  }
  return ca;
}

/** Parses a narinfo. Errors name the offending line; unknown keys go to `extra`. */
export function parseNarInfo(text: string, storeDir = DEFAULT_STORE_DIR): NarInfo {
  if (text.length > MAX_NARINFO_SIZE)
    throw new NarInfoError(`narinfo is ${text.length} bytes, over the limit of ${MAX_NARINFO_SIZE}`);
  if (text.length > 0 && !text.endsWith("\n")) throw new NarInfoError("narinfo does not end with a newline");
  const lines = text.split("\n");
  lines.pop();
  const out: Partial<NarInfo> & { sigs: string[]; extra: Array<[string, string]>; references: string[] } = {
    sigs: [],
    extra: [],
    references: [],
  };
  const seen = new Set<string>();
  lines.forEach((line, idx) => {
    const where = `narinfo line ${idx + 1}`;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new NarInfoError(`${where}: expected "Key: Value", got ${JSON.stringify(line)}`);
    if (line[colon + 1] !== " ")
      throw new NarInfoError(`${where}: expected a space after "${line.slice(0, colon)}:"`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (key !== "Sig" && seen.has(key) && KNOWN.has(key))
      throw new NarInfoError(`${where}: duplicate ${key}`);
    seen.add(key);
    try {
      switch (key) {
        case "StorePath":
          out.storePath = parseStorePath(value, storeDir).path;
          break;
        case "URL":
          if (!value) throw new NarInfoError("empty URL");
          out.url = value;
          break;
        case "Compression":
          out.compression = value;
          break;
        case "FileHash":
          out.fileHash = parseHash(value);
          break;
        case "FileSize":
          out.fileSize = parseSize(value, key);
          break;
        case "NarHash":
          out.narHash = parseHash(value);
          break;
        case "NarSize":
          out.narSize = parseSize(value, key);
          break;
        case "References":
          // A set, as Nix reads it: sorted, each once (duplicates would change the fingerprint).
          out.references =
            value === ""
              ? []
              : [...new Set(value.split(" ").map((r) => parseStorePathBase(r, storeDir).base))].sort();
          break;
        case "Deriver":
          out.deriver = value === "unknown-deriver" ? undefined : parseStorePathBase(value, storeDir).base;
          break;
        case "System":
          out.system = value;
          break;
        case "Sig":
          out.sigs.push(value);
          break;
        case "CA":
          out.ca = parseContentAddress(value);
          break;
        default:
          out.extra.push([key, value]);
      }
    } catch (e) {
      if (e instanceof NarInfoError || e instanceof HashParseError || e instanceof StorePathError) {
        throw new NarInfoError(`${where} (${key}): ${e.message}`);
      }
      throw e;
    }
  });
  for (const required of ["StorePath", "URL", "NarHash", "NarSize"]) {
    if (!seen.has(required)) throw new NarInfoError(`narinfo lacks the required field ${required}`);
  }
  if (out.narSize === 0) throw new NarInfoError("narinfo has NarSize 0");
  out.compression ??= "bzip2";
  return out as NarInfo;
}

const KNOWN = new Set([
  "StorePath",
  "URL",
  "Compression",
  "FileHash",
  "FileSize",
  "NarHash",
  "NarSize",
  "References",
  "Deriver",
  "System",
  "CA",
]);

function parseSize(value: string, key: string): number {
  if (!/^[0-9]+$/.test(value))
    throw new NarInfoError(`${key} ${JSON.stringify(value)} is not a non-negative integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new NarInfoError(`${key} ${value} is too large`);
  return n;
}

/** Writes a narinfo in the exact field order and form Nix writes (unknown keys last). */
export function formatNarInfo(ni: NarInfo): string {
  let s = `StorePath: ${ni.storePath}\nURL: ${ni.url}\nCompression: ${ni.compression}\n`;
  if (ni.fileHash) s += `FileHash: ${formatHashNix32(ni.fileHash)}\n`;
  if (ni.fileSize !== undefined) s += `FileSize: ${ni.fileSize}\n`;
  s += `NarHash: ${formatHashNix32(ni.narHash)}\nNarSize: ${ni.narSize}\n`;
  s += `References: ${[...ni.references].sort().join(" ")}\n`;
  if (ni.deriver) s += `Deriver: ${ni.deriver}\n`;
  if (ni.system) s += `System: ${ni.system}\n`;
  for (const sig of ni.sigs) s += `Sig: ${sig}\n`;
  if (ni.ca) s += `CA: ${ni.ca}\n`;
  for (const [k, v] of ni.extra) s += `${k}: ${v}\n`;
  return s;
}

export function narInfoStorePath(ni: NarInfo, storeDir = DEFAULT_STORE_DIR): StorePath {
  return parseStorePath(ni.storePath, storeDir);
}

/** What a signature covers: `1;<path>;<NarHash nix32>;<NarSize>;<sorted full reference paths>`. */
export function narInfoFingerprint(
  ni: Pick<NarInfo, "storePath" | "narHash" | "narSize" | "references">,
  storeDir = DEFAULT_STORE_DIR,
): string {
  if (ni.narHash.algo !== "sha256") throw new NarInfoError("only sha256 NAR hashes can be fingerprinted");
  const refs = [...new Set(ni.references)].map((r) => `${storeDir}/${r}`).sort();
  return `1;${ni.storePath};${formatHashNix32(ni.narHash)};${ni.narSize};${refs.join(",")}`;
}

/** Adds this key's signature, replacing an older one by the same key name and keeping all others. */
export function signNarInfo(ni: NarInfo, key: SecretKey, storeDir = DEFAULT_STORE_DIR): NarInfo {
  const sig = signDetached(key, narInfoFingerprint(ni, storeDir));
  const others = ni.sigs.filter((s) => !s.startsWith(`${key.name}:`));
  return { ...ni, sigs: [...others, sig] };
}

/** The trusted keys (by name) whose signature on this narinfo verifies. Empty means untrusted. */
export function verifyNarInfo(
  ni: NarInfo,
  trusted: readonly PublicKey[],
  storeDir = DEFAULT_STORE_DIR,
): string[] {
  const fp = narInfoFingerprint(ni, storeDir);
  const ok: string[] = [];
  for (const sig of ni.sigs) {
    const key = verifyDetached(fp, sig, trusted);
    if (key && !ok.includes(key.name)) ok.push(key.name);
  }
  return ok;
}
