// Multipart NAR uploads of the Cachix API. Parts arrive at presigned URLs (part-urls.ts) and are
// staged in storage; `complete` streams them in order through the same verified NAR ingest as the
// Nix side: the NAR's file hash and size, NAR hash and size must match `narInfoCreate` before
// anything is stored, and the narinfo is signed by the cache's key when the cache is managed.
// Storage that runs multipart uploads itself (S3: `storage.direct`) takes the parts at its own
// presigned URLs, so NAR bytes never pass through here on the way in; `complete` assembles them
// there and reads the object back once for the same verification, then commits it by a copy.
import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { CompletedMultipartUpload, NarInfoCreate } from "../../cachix-api/schemas.js";
import { narExtension } from "../../codec/compression.js";
import { formatHashNix32, parseHash } from "../../nix/hash.js";
import { formatNarInfo, type NarInfo, narInfoFingerprint } from "../../nix/narinfo.js";
import { nix32Encode } from "../../nix/nix32.js";
import { parsePublicKey, verifyRaw } from "../../nix/signing.js";
import { errorCode } from "../../util/errors.js";
import { IngestError } from "../errors.js";
import type { MultipartUpload, NewMultipart, PartRow } from "../metadata/types.js";
import type { AssembledUpload, StagedBlob } from "../storage/backend.js";
import { type IngestTarget, stageNar } from "./nar.js";
import { ingestNarInfo, refuseManyReferences } from "./narinfo.js";
import { PART_URL_TTL_MS, type PartUrlQuery, PartUrls } from "./part-urls.js";
import { QuotaError } from "./quota.js";
import { NarTooLargeError } from "./receive.js";

export interface MultipartOptions extends IngestTarget {
  /** Largest part, and largest assembled NAR, in stored bytes. */
  maxBytes: number;
  /** Largest NAR after decompression (and never more than the client's cNarSize). */
  maxNarBytes: number;
  /** Returns `work`, which the server's shutdown waits for. */
  shutdownWaitsFor<T>(work: Promise<T>): Promise<T>;
  partUrlTtlMs?: number;
  /** See NarInfoIngest.onMissing. */
  onMissing?: (cache: string, hashes: string[]) => void;
  /** See NarInfoIngest.log. */
  log?: (event: Record<string, unknown>) => void;
}

/** How far a `complete` got: published (the narinfo is in), assembled (by direct storage). */
interface Progress {
  published: boolean;
  assembled?: AssembledUpload;
}

export class MultipartUploads {
  readonly partUrls: PartUrls;

  constructor(private readonly o: MultipartOptions) {
    this.partUrls = new PartUrls(o.meta, o.partUrlTtlMs);
  }

  /** Opens an upload: with direct storage, the upload is the store's and named by it. */
  async create(u: Omit<NewMultipart, "narId" | "uploadId">): Promise<MultipartUpload> {
    const direct = this.o.storage.direct;
    if (!direct) return this.o.meta.createMultipart(u);
    const narId = randomUUID();
    const uploadId = await direct.createUpload(narId);
    try {
      return await this.o.meta.createMultipart({ ...u, narId, uploadId });
    } catch (e) {
      await direct.abort(narId, uploadId).catch(() => {});
      throw e;
    }
  }

  /** The presigned URL for one part: storage's own with direct storage, else this server's. */
  async partUrl(base: string, up: MultipartUpload, part: number, contentMD5: string): Promise<string> {
    const direct = this.o.storage.direct;
    if (!direct) return this.partUrls.url(base, up, part, contentMD5);
    return direct.partUrl(up.narId, up.uploadId, part, contentMD5, this.o.partUrlTtlMs ?? PART_URL_TTL_MS);
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
    if (storage.direct)
      throw new IngestError(
        "notFound",
        "this server's uploads go to object storage directly: ask for a new part URL",
      );
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
    const direct = this.o.storage.direct;
    if (!direct) return this.o.storage.deleteParts(narId);
    const up = await this.o.meta.getMultipart(narId);
    await direct.abort(narId, up?.uploadId);
  }

  /**
   * Verifies the parts and the NAR against what the client claims, then publishes the narinfo.
   * One `complete` per upload wins, whatever the number of processes: the upload moves from open
   * to completing in the metadata store first (the loser, or a later complete or abort, gets 409),
   * and back to open when verification refuses it, so the client may try again. An upload whose
   * parts direct storage already assembled and the verification refused is aborted instead: its
   * parts are gone with the object.
   */
  async complete(up: MultipartUpload, body: CompletedMultipartUpload): Promise<void> {
    const { meta } = this.o;
    if (!(await meta.transitionMultipart(up.narId, "open", "completing"))) throw await this.lost(up.narId);
    const progress: Progress = { published: false };
    try {
      await this.o.shutdownWaitsFor(this.verifyAndCommit(up, body, progress));
    } catch (e) {
      if (!progress.published) {
        // Refused once assembled: the object goes, and its parts with it. Storage down or full: it
        // stays, for a complete once storage is back or has room.
        const code = errorCode(e);
        const consumed = progress.assembled !== undefined && code !== "unavailable" && code !== "full";
        if (consumed) await progress.assembled?.discard().catch(() => {});
        // Over the quota: trying again cannot help, so the upload ends and its parts go now.
        const full = e instanceof QuotaError;
        await meta.transitionMultipart(up.narId, "completing", consumed || full ? "aborted" : "open");
        if (full) await this.dropParts(up.narId).catch(() => {});
      }
      throw e;
    }
  }

  /**
   * The listed parts in order, each checked against the part stored under its number. `parts:
   * null` (what the cachix client sends when a part's PUT answer had no ETag) means the parts
   * stored, which must then be numbered 1..n; the assembled NAR is verified either way.
   */
  private async listedParts(
    up: MultipartUpload,
    body: CompletedMultipartUpload,
    storedRows: PartRow[],
  ): Promise<Array<{ part: number; etag: string }>> {
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
    return listed.map((p) => ({ part: p.partNumber, etag: p.eTag }));
  }

  /**
   * The parts of a direct upload, checked as `listedParts` does against what storage holds, and
   * against its part sizes (which only storage saw). An upload storage no longer holds open was
   * assembled by an earlier `complete` that failed after (storage unreachable): the listed parts
   * are then taken as given, and storage checks they are the ones its object was made of.
   */
  private async directParts(
    up: MultipartUpload,
    body: CompletedMultipartUpload,
  ): Promise<Array<{ part: number; etag: string }>> {
    const direct = this.o.storage.direct as NonNullable<typeof this.o.storage.direct>;
    const stored = await direct.listParts(up.narId, up.uploadId);
    if (!stored) {
      if (body.parts && body.parts.length > 0)
        return [...body.parts]
          .sort((a, b) => a.partNumber - b.partNumber)
          .map((p) => ({ part: p.partNumber, etag: p.eTag }));
      throw new IngestError("invalid", `upload ${up.narId} has no parts in object storage any more`);
    }
    const listed = await this.listedParts(up, body, stored);
    const size = new Map(stored.map((p) => [p.part, p.size]));
    let total = 0;
    listed.forEach((p, i) => {
      const n = size.get(p.part) ?? 0;
      total += n;
      if (i < listed.length - 1 && n < direct.minPartBytes)
        throw new IngestError(
          "invalid",
          `part ${p.part} is ${n} bytes: object storage needs every part but the last to be at least ${direct.minPartBytes} bytes`,
        );
    });
    if (total > this.o.maxBytes)
      throw new IngestError("tooLarge", `upload exceeds the limit of ${this.o.maxBytes} bytes`);
    return listed;
  }

  private async verifyAndCommit(
    up: MultipartUpload,
    body: CompletedMultipartUpload,
    progress: Progress,
  ): Promise<void> {
    const onPublished = () => {
      progress.published = true;
    };
    const { meta, storage } = this.o;
    const nic = body.narInfoCreate;
    const cache = await meta.getCache(up.cache);
    const managed = cache?.managed ?? true;
    // Everything that can be checked without reading the NAR is checked first.
    const parts = storage.direct
      ? await this.directParts(up, body)
      : await this.listedParts(up, body, await meta.parts(up.narId));
    const storePath = `/nix/store/${nic.cStoreHash}-${nic.cStoreSuffix}`;
    const references = [...new Set(nic.cReferences)].sort();
    refuseManyReferences(storePath, references.length);
    const narHash = parseHash(nic.cNarHash);
    const sigs: string[] = [];
    if (nic.cSig !== null) sigs.push(await this.clientSignature(up.cache, nic, storePath, references));
    else if (!managed)
      throw new IngestError(
        "invalid",
        `cache ${up.cache} is self-signed (no managed key): cSig is required (set CACHIX_SIGNING_KEY)`,
      );

    let source: Readable;
    let into: StagedBlob | undefined;
    if (storage.direct) {
      const a = await storage.direct.complete(up.narId, up.uploadId, parts);
      progress.assembled = a;
      source = a.read();
      // The bytes are in storage already: verification writes nothing, the commit copies there.
      into = { write: async () => {}, commit: (hash) => a.commit(hash), discard: async () => {} };
    } else
      source = storage.readParts(
        up.narId,
        parts.map((p) => p.part),
      );
    // A bomb is cut off as soon as it inflates past what the client said the NAR is.
    const limits = { maxBytes: this.o.maxBytes, maxNarBytes: Math.min(this.o.maxNarBytes, nic.cNarSize) };
    const nar = await stageNar(this.o, source, up.compression, limits, into).catch((e: unknown) => {
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
      onMissing: this.o.onMissing,
      log: this.o.log,
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
