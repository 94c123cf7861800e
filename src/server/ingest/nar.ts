// NAR ingest: verify, then commit. Only a complete, valid upload becomes a blob, and a blob is
// durably stored before the NAR is recorded (still invisible until a narinfo names it).
import type { Readable } from "node:stream";
import { type Compression, narExtension } from "../../codec/compression.js";
import { formatHashNix32 } from "../../nix/hash.js";
import { nix32Encode } from "../../nix/nix32.js";
import { errorCode } from "../../util/errors.js";
import { IngestError } from "../errors.js";
import type { MetadataStore } from "../metadata/store.js";
import type { ReceivedNar } from "../metadata/types.js";
import type { StagedBlob, StorageBackend } from "../storage/backend.js";
import { checkQuota, QuotaError } from "./quota.js";
import { type Received, type ReceiveLimits, receiveNar } from "./receive.js";
import { deleteUnnamedBlobs } from "./sweep.js";

export interface IngestTarget {
  meta: MetadataStore;
  storage: StorageBackend;
}

/** The compression a NAR URL's extension declares (`.nar`, `.nar.zst`, `.nar.xz`). */
export function compressionOfNarUrl(name: string): Compression {
  if (name.endsWith(".nar")) return "none";
  if (name.endsWith(".nar.zst")) return "zstd";
  if (name.endsWith(".nar.xz")) return "xz";
  const ext = /\.nar\.([A-Za-z0-9]+)$/.exec(name)?.[1];
  if (ext) {
    const known: Record<string, string> = { bz2: "bzip2", br: "br", lz4: "lz4", lzip: "lzip" };
    throw new IngestError(
      "invalid",
      `unsupported NAR compression ${JSON.stringify(known[ext] ?? ext)} (from ${name}): this server accepts .nar, .nar.zst and .nar.xz`,
      { status: 415 },
    );
  }
  throw new IngestError(
    "invalid",
    `NAR URL ${JSON.stringify(name)} does not end in .nar, .nar.zst or .nar.xz`,
  );
}

/**
 * A NAR received and verified, still in staging (the server side; not the client's `verifiedNar`,
 * a store read checked against the Nix DB): `commit` stores and records it (still invisible),
 * `discard` drops it.
 */
export interface StagedNar {
  received: Received;
  commit(cache: string, url: string): Promise<ReceivedNar>;
  discard(): Promise<void>;
}

/**
 * Receives and verifies a NAR without storing it yet, for callers that check what the client
 * claimed first (the Cachix API's multipart `complete`). `staged` is where the bytes go (default
 * a new staged blob); a NAR already in storage passes one that writes nothing and commits by a
 * server-side copy, so its bytes are read once and never written through the server again.
 */
export async function stageNar(
  t: IngestTarget,
  body: Readable,
  compression: Compression,
  limits: ReceiveLimits,
  into?: StagedBlob,
): Promise<StagedNar> {
  const staged = into ?? (await t.storage.stageBlob());
  let received: Received;
  try {
    received = await receiveNar(body, compression, staged, limits);
  } catch (e) {
    await staged.discard();
    throw e;
  }
  return {
    received,
    discard: () => staged.discard(),
    async commit(cache, url) {
      try {
        await checkQuota(t.meta, cache, url, received.blob, received.fileSize);
        await staged.commit(received.blob);
      } catch (e) {
        await staged.discard();
        throw e;
      }
      const nar = {
        cache,
        url,
        blob: received.blob,
        compression,
        narHash: formatHashNix32(received.narHash),
        narSize: received.narSize,
        fileHash: formatHashNix32(received.fileHash),
        fileSize: received.fileSize,
      };
      let recorded: boolean;
      try {
        recorded = await t.meta.recordNar(nar);
      } catch (e) {
        if (errorCode(e) !== "tooLarge") throw e;
        // Another upload filled the quota since the check: the blob goes now, unless something
        // names it (the same content recorded for another URL or cache); if storage fails, the
        // sweep takes it later.
        await deleteUnnamedBlobs(t.meta, t.storage, new Map([[received.blob, received.fileSize]])).catch(
          () => {},
        );
        throw new QuotaError((e as Error).message, { cause: e });
      }
      if (!recorded)
        throw new IngestError(
          "conflict",
          `${url} already serves a different NAR in cache ${cache}; a served NAR URL never changes`,
        );
      // Committing a blob that exists already writes nothing: a GC may have deleted it since,
      // between its claim (before this record) and now. Then the record goes, and the client retries.
      if ((await t.storage.blobSize(received.blob)) === undefined) {
        await t.meta.deleteInvisibleNar(cache, url, Date.now() + 1);
        throw new IngestError(
          "unavailable",
          `the stored copy of ${url} was deleted by the garbage collector while it was uploaded: retry`,
        );
      }
      return { ...nar, visible: false };
    },
  };
}

/**
 * Receives one NAR PUT to `url`, verifies, stores and records it. The URL must be named by the
 * content: `nar/<nix32 of its FileHash>.nar[.ext]` as Nix names it (or of its NarHash, as clients
 * that stream before the file hash is known do). A NAR under any other name could squat the URL
 * of a file still to come, and Nix, finding it there, would never upload the real one.
 */
export async function ingestNar(
  t: IngestTarget,
  o: { cache: string; url: string; body: Readable; limits: ReceiveLimits },
): Promise<ReceivedNar> {
  const compression = compressionOfNarUrl(o.url);
  const nar = await stageNar(t, o.body, compression, o.limits);
  const named = (h: Buffer) => `nar/${nix32Encode(h)}${narExtension(compression)}`;
  const expected = named(nar.received.fileHash.digest);
  if (o.url !== expected && o.url !== named(nar.received.narHash.digest)) {
    await nar.discard();
    throw new IngestError(
      "invalid",
      `${o.url} is not named by its content: a NAR with this content belongs at ${expected}`,
    );
  }
  return nar.commit(o.cache, o.url);
}
