// Multipart NAR uploads of the Cachix API. Parts arrive at presigned URLs (part-urls.ts) and are
// staged in storage; `complete` streams them in order through the same verified NAR ingest as the
// Nix side: the NAR's file hash and size, NAR hash and size must match `narInfoCreate` before
// anything is stored, and the narinfo is signed by the cache's key when the cache is managed.
import { createHash } from "node:crypto";
import type { CompletedMultipartUpload, NarInfoCreate } from "../../cachix-api/schemas.js";
import { narExtension } from "../../codec/compression.js";
import { formatHashNix32, parseHash } from "../../nix/hash.js";
import { formatNarInfo, type NarInfo, narInfoFingerprint } from "../../nix/narinfo.js";
import { nix32Encode } from "../../nix/nix32.js";
import { parsePublicKey, verifyRaw } from "../../nix/signing.js";
import { IngestError } from "../errors.js";
import type { MultipartUpload } from "../metadata/types.js";
import { type IngestTarget, receiveVerifiedNar } from "./nar.js";
import { ingestNarInfo } from "./narinfo.js";
import { type PartUrlQuery, PartUrls } from "./part-urls.js";
import { NarTooLargeError } from "./receive.js";

export interface MultipartOptions extends IngestTarget {
  /** Largest part, and largest assembled NAR, in stored bytes. */
  maxBytes: number;
  /** Largest NAR after decompression (and never more than the client's cNarSize). */
  maxNarBytes: number;
  /** Registers work that shutdown must wait for. */
  track<T>(work: Promise<T>): Promise<T>;
  partUrlTtlMs?: number;
}

export class MultipartUploads {
  readonly partUrls: PartUrls;

  constructor(private readonly o: MultipartOptions) {
    this.partUrls = new PartUrls(o.meta, o.partUrlTtlMs);
  }

  /** Receives one part sent to a presigned URL; returns its quoted ETag (the MD5 in hex, as S3 does). */
  async receivePart(
    narId: string,
    part: number,
    q: PartUrlQuery,
    contentMD5: string | undefined,
    body: AsyncIterable<Buffer>,
  ): Promise<string> {
    const { meta, storage, maxBytes } = this.o;
    const up = await meta.getMultipart(narId);
    if (!up || up.uploadId !== q.uploadId)
      throw new IngestError("notFound", `no upload ${narId} with that uploadId`);
    if (!contentMD5) throw new IngestError("invalid", "the Content-MD5 header is required");
    await this.partUrls.check(up, part, q, contentMD5);
    if (up.state !== "open")
      throw new IngestError(
        "notFound",
        `upload ${narId} is ${up.state === "completing" ? "being completed" : up.state}: its part URLs no longer work`,
      );

    const staged = await storage.stagePart(narId, part);
    const md5 = createHash("md5");
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > maxBytes) throw new IngestError("tooLarge", `part exceeds the limit of ${maxBytes} bytes`);
        md5.update(chunk);
        await staged.write(chunk);
      }
    } catch (e) {
      await staged.discard();
      if (e instanceof IngestError) throw e;
      throw new IngestError("invalid", `part upload was interrupted after ${size} bytes`, { cause: e });
    }
    const digest = md5.digest();
    const refuse = async (e: IngestError) => {
      await staged.discard();
      return e;
    };
    if (digest.toString("base64") !== contentMD5)
      throw await refuse(
        new IngestError("invalid", `part ${part} does not match its Content-MD5 (corrupted in transit?)`),
      );
    // complete/abort may have won while the body streamed: then this part is dropped.
    const now = await meta.getMultipart(narId);
    if (now?.state !== "open")
      throw await refuse(
        new IngestError("notFound", `upload ${narId} ended while part ${part} was being sent`),
      );
    await staged.commit();
    const etag = `"${digest.toString("hex")}"`;
    await meta.putPart(narId, { part, etag, size });
    return etag;
  }

  /** The refusal of a state change that another request (in any process) got to first. */
  private async lost(narId: string): Promise<IngestError> {
    const state = (await this.o.meta.getMultipart(narId))?.state;
    return new IngestError(
      "conflict",
      state === "completing" ? `upload ${narId} is being completed` : `upload ${narId} was already ${state}`,
    );
  }

  /** Drops an open upload and its parts; 409 when it is no longer open. */
  async abort(up: MultipartUpload): Promise<void> {
    if (!(await this.o.meta.transitionMultipart(up.narId, "open", "aborted")))
      throw await this.lost(up.narId);
    await this.dropParts(up.narId);
  }

  private async dropParts(narId: string): Promise<void> {
    await this.o.meta.deleteParts(narId);
    await this.o.storage.deleteParts(narId);
  }

  /**
   * Verifies the parts and the NAR against what the client claims, then publishes the narinfo.
   * One `complete` per upload wins, whatever the number of processes: the upload moves from open
   * to completing in the metadata store first (the loser, or a later complete or abort, gets 409),
   * and back to open when verification refuses it, so the client may try again.
   */
  async complete(up: MultipartUpload, body: CompletedMultipartUpload): Promise<void> {
    const { meta } = this.o;
    if (!(await meta.transitionMultipart(up.narId, "open", "completing"))) throw await this.lost(up.narId);
    let published = false;
    try {
      await this.o.track(
        this.verifyAndCommit(up, body, () => {
          published = true;
        }),
      );
    } catch (e) {
      if (!published) await meta.transitionMultipart(up.narId, "completing", "open");
      throw e;
    }
  }

  /**
   * The listed parts in order, each checked against the part stored under its number. `parts:
   * null` (what the cachix client sends when a part's PUT answer had no ETag) means the parts
   * stored, which must then be numbered 1..n; the assembled NAR is verified either way.
   */
  private async listedParts(up: MultipartUpload, body: CompletedMultipartUpload): Promise<number[]> {
    const storedRows = await this.o.meta.parts(up.narId);
    const listed = [...(body.parts ?? storedRows.map((p) => ({ partNumber: p.part, eTag: p.etag })))].sort(
      (a, b) => a.partNumber - b.partNumber,
    );
    if (listed.length === 0) throw new IngestError("invalid", `upload ${up.narId} has no parts`);
    const stored = new Map(storedRows.map((p) => [p.part, p]));
    listed.forEach((p, i) => {
      if (p.partNumber !== i + 1)
        throw new IngestError(
          "invalid",
          `parts must be numbered 1..${listed.length} without gaps or repeats`,
        );
      const s = stored.get(p.partNumber);
      if (!s) throw new IngestError("invalid", `part ${p.partNumber} was never uploaded`);
      if (unquote(s.etag) !== unquote(p.eTag))
        throw new IngestError(
          "invalid",
          `part ${p.partNumber}: ETag ${p.eTag} does not match the uploaded part (${s.etag})`,
        );
    });
    return listed.map((p) => p.partNumber);
  }

  private async verifyAndCommit(
    up: MultipartUpload,
    body: CompletedMultipartUpload,
    onPublished: () => void,
  ): Promise<void> {
    const { meta, storage } = this.o;
    const nic = body.narInfoCreate;
    const cache = await meta.getCache(up.cache);
    const managed = cache?.managed ?? true;
    // Everything that can be checked without reading the NAR is checked first.
    const parts = await this.listedParts(up, body);
    const storePath = `/nix/store/${nic.cStoreHash}-${nic.cStoreSuffix}`;
    const references = [...new Set(nic.cReferences)].sort();
    const narHash = parseHash(nic.cNarHash);
    const sigs: string[] = [];
    if (nic.cSig !== null) sigs.push(await this.clientSignature(up.cache, nic, storePath, references));
    else if (!managed)
      throw new IngestError(
        "invalid",
        `cache ${up.cache} is self-signed (no managed key): cSig is required (set CACHIX_SIGNING_KEY)`,
      );

    // A bomb is cut off as soon as it inflates past what the client said the NAR is.
    const nar = await receiveVerifiedNar(this.o, storage.readParts(up.narId, parts), up.compression, {
      maxBytes: this.o.maxBytes,
      maxNarBytes: Math.min(this.o.maxNarBytes, nic.cNarSize),
    }).catch((e: unknown) => {
      if (e instanceof NarTooLargeError && e.limit < this.o.maxNarBytes)
        throw new IngestError(
          "invalid",
          `narInfoCreate for ${storePath} claims cNarSize ${nic.cNarSize}, but the uploaded NAR is larger`,
        );
      throw e;
    });
    const r = nar.received;
    const mismatch = (what: string, claimed: string | number, actual: string | number) =>
      new IngestError(
        "invalid",
        `narInfoCreate for ${storePath} claims ${what} ${claimed}, but the uploaded NAR has ${actual}`,
      );
    const err =
      r.fileHash.digest.toString("hex") !== nic.cFileHash
        ? mismatch("cFileHash", nic.cFileHash, r.fileHash.digest.toString("hex"))
        : r.fileSize !== nic.cFileSize
          ? mismatch("cFileSize", nic.cFileSize, r.fileSize)
          : formatHashNix32(r.narHash) !== formatHashNix32(narHash)
            ? mismatch("cNarHash", nic.cNarHash, formatHashNix32(r.narHash))
            : r.narSize !== nic.cNarSize
              ? mismatch("cNarSize", nic.cNarSize, r.narSize)
              : undefined;
    if (err) {
      await nar.discard();
      throw err;
    }
    const url = `nar/${nix32Encode(r.fileHash.digest)}${narExtension(up.compression)}`;
    await nar.commit(up.cache, url);
    const ni: NarInfo = {
      storePath,
      url,
      compression: up.compression,
      fileHash: r.fileHash,
      fileSize: r.fileSize,
      narHash: r.narHash,
      narSize: r.narSize,
      references,
      deriver: nic.cDeriver === "unknown-deriver" ? undefined : nic.cDeriver,
      sigs,
      extra: [],
    };
    await ingestNarInfo(meta, {
      cache: up.cache,
      hash: nic.cStoreHash,
      text: formatNarInfo(ni),
      sign: managed,
    });
    onPublished();
    await meta.transitionMultipart(up.narId, "completing", "completed");
    await this.dropParts(up.narId);
  }

  /** `<keyname>:<cSig>` for the registered client key that verifies cSig; refuses otherwise. */
  private async clientSignature(
    cache: string,
    nic: NarInfoCreate,
    storePath: string,
    references: string[],
  ): Promise<string> {
    const sig = Buffer.from(nic.cSig ?? "", "base64");
    const keys = (await this.o.meta.clientKeys(cache)).map((k) => parsePublicKey(k));
    if (keys.length === 0)
      throw new IngestError(
        "invalid",
        `cSig is set but cache ${cache} has no signing key registered: POST /cache/${cache}/key with its public key first`,
      );
    const fp = narInfoFingerprint({
      storePath,
      narHash: parseHash(nic.cNarHash),
      narSize: nic.cNarSize,
      references,
    });
    const key = keys.find((k) => verifyRaw(k, fp, sig));
    if (!key)
      throw new IngestError(
        "invalid",
        `cSig does not verify with any signing key registered for cache ${cache}`,
      );
    return `${key.name}:${sig.toString("base64")}`;
  }
}

function unquote(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
}
