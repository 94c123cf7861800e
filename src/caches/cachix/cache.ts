// `cachix://NAME`: a Cachix cache (or any server with the same API, nixcache's included) through
// the BinaryCache interface. Reads go through the API (narinfo GET, bulk missing query); uploads
// are multipart: the NAR is compressed and hashed as it streams, cut into 32 MiB parts that go up
// 4 at a time to presigned URLs, and `commit` completes the upload with the narinfo. The Cachix
// API has no call for build logs: this backend has no `uploadBuildLog`, and builds skip it.

import { type BinaryCache, NARINFO_BULK_MAX, type NarInfoCreate } from "../../cachix-api/schemas.js";
import { compressAndHash, compressPathAndHash, type FileStats } from "../../codec/compress-and-hash.js";
import { narExtension } from "../../codec/compression.js";
import { parseSigningKey } from "../../keys/key-files.js";
import { type CacheInfo, parseCacheInfo } from "../../nix/cache-info.js";
import { formatHashNix32 } from "../../nix/hash.js";
import { buildNarInfo, type NarInfo, narInfoFingerprint, parseNarInfo } from "../../nix/narinfo.js";
import { nix32Encode } from "../../nix/nix32.js";
import { type SecretKey, signRaw } from "../../nix/signing.js";
import { checkStoreHash, parseStorePath } from "../../nix/store-path.js";
import { NixcacheError } from "../../util/errors.js";
import type { NarUpload, StagedPath, WritableBinaryCache } from "../types.js";
import { CachixApi, CachixApiError, type CachixApiOptions, cacheAccessMessage } from "./client.js";
import { PartBudget, type PartBuffer } from "./part-budget.js";

export const PART_SIZE = 32 * 1024 * 1024;
export const PARTS_IN_FLIGHT = 4;
/**
 * Part buffers held at once by all uploads of one cache: two full parts. Measured on the bench
 * fixture (2 cores, local server), 64 MiB pushes as fast as 128 MiB with ~60 MiB less peak RSS;
 * a slow link to a remote cache may want more (NIXCACHE_CACHIX_PART_MEMORY, in MiB).
 */
export const PART_MEMORY = 64 * 1024 * 1024;

export interface CachixCacheOptions extends CachixApiOptions {
  /** `CACHIX_SIGNING_KEY`: base64 of the 64-byte ed25519 secret, no name prefix. */
  signingKey?: string;
  /** Part size in bytes (default 32 MiB; smaller in tests). */
  partSize?: number;
  /** Bytes of part buffers all uploads may hold at once (default PART_MEMORY). */
  partMemory?: number;
}

export class CachixCache implements WritableBinaryCache {
  readonly url: string;
  readonly api: CachixApi;
  private readonly key?: SecretKey;
  private readonly partSize: number;
  /** Shared by every upload in flight, so memory does not grow with the number of jobs. */
  readonly buffers: PartBudget;
  private info?: BinaryCache;

  constructor(
    readonly name: string,
    opts: CachixCacheOptions = {},
  ) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      throw new NixcacheError("usage", `cachix://${name}: ${JSON.stringify(name)} is not a cache name`);
    this.api = new CachixApi(opts);
    this.url = `cachix://${name}`;
    if (opts.signingKey) this.key = parseSigningKey(opts.signingKey, ["cachix"]).key;
    this.partSize = opts.partSize ?? PART_SIZE;
    this.buffers = new PartBudget(opts.partMemory ?? PART_MEMORY, this.partSize);
  }

  /** The cache as the API describes it (permission, keys, compression); asked once. */
  async describe(): Promise<BinaryCache> {
    if (!this.info) {
      try {
        this.info = await this.api.getCache(this.name);
      } catch (e) {
        if (e instanceof CachixApiError) throw new Error(cacheAccessMessage(this.name, e, this.api.hasToken));
        throw e;
      }
    }
    return this.info;
  }

  /** The API's `publicSigningKeys`; none when it cannot say (the push itself reports what is wrong). */
  async advertisedKeys(): Promise<string[]> {
    return this.describe().then(
      (d) => d.publicSigningKeys,
      () => [],
    );
  }

  async cacheInfo(): Promise<CacheInfo> {
    await this.describe();
    return parseCacheInfo(await this.api.cacheInfoText(this.name));
  }

  /** A Cachix cache always has its nix-cache-info; pushing needs Write, checked here up front. */
  async ensureCacheInfo(): Promise<CacheInfo> {
    const info = await this.cacheInfo();
    const d = await this.describe();
    if (d.permission === "Read")
      throw new NixcacheError(
        "forbidden",
        `the token has only Read permission on cache ${this.name}: pushing needs a Write token ` +
          "(run `nixcache token inspect --cache " +
          `${this.name}\` for the remedy)`,
      );
    return info;
  }

  async missing(hashes: readonly string[]): Promise<Set<string>> {
    for (const h of hashes) checkStoreHash(h);
    const out = new Set<string>();
    for (let i = 0; i < hashes.length; i += NARINFO_BULK_MAX) {
      const chunk = hashes.slice(i, i + NARINFO_BULK_MAX);
      for (const h of await this.lookup(() => this.api.missingHashes(this.name, chunk))) out.add(h);
    }
    return out;
  }

  async getNarInfo(hash: string): Promise<NarInfo | null> {
    checkStoreHash(hash);
    const text = await this.lookup(() => this.api.narInfoText(this.name, hash));
    return text === null ? null : parseNarInfo(text);
  }

  async uploadNar(u: NarUpload): Promise<StagedPath> {
    if (u.compression === "none")
      throw new NixcacheError("usage", "Cachix caches take zstd or xz NARs: use --compression zstd or xz");
    const sp = parseStorePath(u.info.storePath);
    // The upload is created while the first part is being compressed (one round trip saved).
    const created = this.lookup(() =>
      this.api.createMultipart(this.name, u.compression === "xz" ? "xz" : "zst"),
    );
    let sent = 0;
    const onNarBytes = (n: number) => {
      sent += n;
      u.onProgress?.(n);
    };
    const c = u.narSource
      ? compressPathAndHash(u.narSource.fsPath, u.compression, {
          level: u.level,
          onNarBytes,
          maxSize: u.info.narSize,
          checkNar: u.narSource.check,
        })
      : compressAndHash(u.nar(), u.compression, { level: u.level, onNarBytes });
    let parts: Array<{ partNumber: number; eTag: string }>;
    let stats: FileStats;
    try {
      parts = await this.uploadParts(c.chunks, created, compressedBound(u.info.narSize), u.signal);
      stats = c.stats();
    } catch (e) {
      if (sent) u.onProgress?.(-sent);
      // Nothing of a failed upload may stay: the server drops its parts.
      const ids = await created.catch(() => undefined);
      if (ids) await this.api.abort(this.name, ids.narId, ids.uploadId).catch(() => {});
      throw e;
    }
    const { narId, uploadId } = await created;
    const references = [...u.info.references].sort();
    const nic: NarInfoCreate = {
      cStoreHash: sp.hash,
      cStoreSuffix: sp.name,
      cNarHash: formatHashNix32(u.info.narHash),
      cNarSize: u.info.narSize,
      cFileHash: stats.fileHash.digest.toString("hex"),
      cFileSize: stats.fileSize,
      cReferences: references,
      cDeriver: u.info.deriver ?? "unknown-deriver",
      cSig: this.key
        ? signRaw(this.key, narInfoFingerprint({ ...u.info, references })).toString("base64")
        : null,
    };
    const narInfo = buildNarInfo(u.info, {
      url: `nar/${nix32Encode(stats.fileHash.digest)}${narExtension(u.compression)}`,
      compression: u.compression,
      fileHash: stats.fileHash,
      fileSize: stats.fileSize,
    });
    return {
      narInfo,
      commit: async () => {
        await this.api.complete(this.name, narId, uploadId, { parts, narInfoCreate: nic });
      },
    };
  }

  /**
   * Cuts the compressed stream into parts and uploads them, `PARTS_IN_FLIGHT` at a time per path.
   * Each part's buffer is taken from the process-wide budget (`partBuffers`) before it is filled,
   * sized to what can still come (`bound` less what came), so small NARs take little and large ones
   * wait for room instead of growing memory. The last part is always sent, even when empty, so
   * that every upload has at least one part.
   */
  private async uploadParts(
    chunks: AsyncIterable<Buffer>,
    created: Promise<{ narId: string; uploadId: string }>,
    bound: number,
    signal?: AbortSignal,
  ): Promise<Array<{ partNumber: number; eTag: string }>> {
    const buffers = this.buffers;
    const done: Array<{ partNumber: number; eTag: string }> = [];
    const inflight = new Set<Promise<void>>();
    let failure: unknown;
    let partNumber = 0;
    let produced = 0;
    let part: PartBuffer | undefined;
    const send = (p: PartBuffer) => {
      const n = ++partNumber;
      const body = p.buf.subarray(0, p.len);
      const md5 = p.md5.digest("base64");
      const t = (async () => {
        const { narId, uploadId } = await created;
        const { uploadUrl } = await this.api.partUrl(this.name, narId, uploadId, n, md5);
        return this.api.putPart(uploadUrl, body, md5, signal);
      })().then(
        (eTag) => {
          done.push({ partNumber: n, eTag });
          buffers.give(p, true);
        },
        (e: unknown) => {
          failure ??= e;
          // The failed request may still hold the memory: it is not reused.
          buffers.give(p, false);
        },
      );
      const tracked = t.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    };
    const next = async () => {
      while (inflight.size >= PARTS_IN_FLIGHT) await Promise.race(inflight);
      if (failure) throw failure;
      return buffers.take(Math.max(1, Math.min(this.partSize, bound - produced)), signal);
    };
    try {
      for await (const chunk of chunks) {
        let c = chunk;
        while (c.length > 0) {
          part ??= await next();
          const take = Math.min(c.length, this.partSize - part.len);
          // Only a NAR longer than it claimed outgrows its reservation (it fails its check later).
          if (part.len + take > part.buf.length) buffers.grow(part, part.len + take);
          c.copy(part.buf, part.len, 0, take);
          part.md5.update(c.subarray(0, take));
          part.len += take;
          produced += take;
          c = c.subarray(take);
          if (part.len === this.partSize) {
            send(part);
            part = undefined;
          }
        }
      }
      send(part ?? (await next()));
      part = undefined;
      await Promise.all(inflight);
    } finally {
      if (part) buffers.give(part, true);
      // A failure leaves no request behind using a buffer or the budget.
      await Promise.allSettled(inflight);
    }
    if (failure) throw failure;
    return done.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Turns 401/404 on the cache into cachix's own wording, as a plain Error so that it prints as
   * cachix prints it (`Error: Binary cache … does not exist.`, which test/server/cachix/api.test.ts holds).
   */
  private async lookup<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof CachixApiError && (e.status === 401 || e.status === 404))
        throw new Error(cacheAccessMessage(this.name, e, this.api.hasToken));
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.api.close();
  }
}

/**
 * The most compressed bytes a NAR of `narSize` bytes can become: zstd's ZSTD_COMPRESSBOUND and
 * xz's worst case are both well under 1/128 more plus 64 KiB of framing.
 */
export function compressedBound(narSize: number): number {
  return narSize + Math.ceil(narSize / 128) + 64 * 1024;
}
