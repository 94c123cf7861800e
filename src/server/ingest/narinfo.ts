// Narinfo ingest: a narinfo is accepted only when it agrees with a NAR this cache received; it is
// then completed with what was measured, signed with the cache's key (client signatures are kept)
// and committed together with the NAR's visibility. It is served once its closure is (store.ts).
import { parseCompression } from "../../codec/compression.js";
import { formatHashNix32, type Hash, hashEquals, parseHash } from "../../nix/hash.js";
import { formatNarInfo, type NarInfo, NarInfoError, parseNarInfo, signNarInfo } from "../../nix/narinfo.js";
import { parseStorePath, STORE_HASH_LENGTH, StorePathError } from "../../nix/store-path.js";
import { IngestError } from "../errors.js";
import { MAX_REFERENCES, ReferencesMissingError, tooManyReferencesMessage } from "../metadata/limits.js";
import type { MetadataStore } from "../metadata/store.js";

export interface NarInfoIngest {
  cache: string;
  /** The hash part from the request URL (`<hash>.narinfo`). */
  hash: string;
  text: string;
  /** Sign with the cache's managed key (default true; false for a self-signed Cachix-API cache). */
  sign?: boolean;
  /**
   * Told the references that are not in the cache yet (the narinfo waits for them): the server's
   * upstream resolver looks for them in upstream caches.
   */
  onMissing?: (cache: string, hashes: string[]) => void;
  /** Told of refusals an operator should hear of (a push that would break a served path). */
  log?: (event: Record<string, unknown>) => void;
}

function parseOrRefuse(text: string): NarInfo {
  try {
    const ni = parseNarInfo(text);
    parseStorePath(ni.storePath);
    return ni;
  } catch (e) {
    if (e instanceof NarInfoError || e instanceof StorePathError)
      throw new IngestError("invalid", `invalid narinfo: ${e.message}`);
    throw e;
  }
}

/** Checks a narinfo against the NAR received for its URL, signs it and commits it. */
export async function ingestNarInfo(
  meta: MetadataStore,
  o: NarInfoIngest,
): Promise<{ text: string; fileSize: number }> {
  const ni = parseOrRefuse(o.text);
  refuseManyReferences(ni.storePath, ni.references.length);
  const sp = parseStorePath(ni.storePath);
  if (sp.hash !== o.hash)
    throw new IngestError(
      "invalid",
      `narinfo StorePath ${ni.storePath} does not match the URL's hash ${o.hash}`,
    );
  const url = stripQuery(ni.url);
  if (!url.startsWith("nar/"))
    throw new IngestError(
      "invalid",
      `narinfo URL ${JSON.stringify(ni.url)} must point under nar/ in this cache`,
    );
  try {
    parseCompression(ni.compression);
  } catch (e) {
    throw new IngestError("invalid", `invalid narinfo: ${(e as Error).message}`, { status: 415 });
  }
  const nar = await meta.getNar(o.cache, url);
  if (!nar)
    throw new IngestError(
      "invalid",
      `narinfo for ${ni.storePath} refers to ${url}, which this cache has not received: upload the NAR first`,
    );
  const mismatch = (what: string, claimed: string | number, actual: string | number) =>
    new IngestError(
      "invalid",
      `narinfo for ${ni.storePath} claims ${what} ${claimed}, but the NAR received at ${url} has ${actual}`,
    );
  const fileHash: Hash = parseHash(nar.fileHash); // stored in our own `sha256:<nix32>` form
  if (ni.compression !== nar.compression) throw mismatch("Compression", ni.compression, nar.compression);
  if (formatHashNix32(ni.narHash) !== nar.narHash)
    throw mismatch("NarHash", formatHashNix32(ni.narHash), nar.narHash);
  if (ni.narSize !== nar.narSize) throw mismatch("NarSize", ni.narSize, nar.narSize);
  if (ni.fileHash && !hashEquals(ni.fileHash, fileHash))
    throw mismatch("FileHash", formatHashNix32(ni.fileHash), nar.fileHash);
  if (ni.fileSize !== undefined && ni.fileSize !== nar.fileSize)
    throw mismatch("FileSize", ni.fileSize, nar.fileSize);
  const complete = { ...ni, url, fileHash, fileSize: nar.fileSize };
  const signed = o.sign === false ? complete : signNarInfo(complete, await meta.signingKey(o.cache));
  const text = formatNarInfo(signed);
  // Parsed references are validated base names `<hash>-<name>`: the hash is their first 32 characters.
  const references = ni.references.map((r) => r.slice(0, STORE_HASH_LENGTH));
  let missing: string[];
  try {
    ({ missing } = await meta.commitNarInfo({
      cache: o.cache,
      hash: o.hash,
      storePath: ni.storePath,
      url,
      text,
      references,
      deriver: ni.deriver ?? null,
    }));
  } catch (e) {
    if (!(e instanceof ReferencesMissingError)) throw e;
    const absent = new Set(e.missing);
    const names = ni.references.filter((r) => absent.has(r.slice(0, STORE_HASH_LENGTH)));
    o.log?.({
      level: "warn",
      event: "narinfo-refused",
      cache: o.cache,
      storePath: ni.storePath,
      missingReferences: names,
    });
    throw new IngestError(
      "conflict",
      `${ni.storePath} is served by this cache already, and this narinfo names references it does not ` +
        `have: ${names.join(", ")}; refused, the served narinfo is kept (push those paths first)`,
      { cause: e },
    );
  }
  if (missing.length > 0) o.onMissing?.(o.cache, missing);
  return { text, fileSize: nar.fileSize };
}

/** Refuses (413) a narinfo naming more references than a narinfo may (MAX_REFERENCES). */
export function refuseManyReferences(storePath: string, count: number): void {
  if (count > MAX_REFERENCES)
    throw new IngestError("tooLarge", tooManyReferencesMessage(`the narinfo of ${storePath}`, count));
}

function stripQuery(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}
