// zstd compression and SHA-256 hashing in worker threads, one per core by default, so that the
// main thread is left with HTTP. Each job (one NAR) is pinned to one worker, whose zstd context
// keeps the frame's state between chunks; a worker serves several jobs.
// - compressPath: the worker reads the NAR of a path itself and sends back compressed pieces;
//   at most CREDITS pieces of a job wait on the main thread, so memory stays bounded.
// - compress: NAR bytes from any source are copied into 1 MiB ArrayBuffers that are transferred
//   to the worker and back (reused, not allocated per chunk); at most WINDOW in flight per job.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Hash } from "../nix/hash.js";
import type { CompressOptions, FileStats } from "./types.js";

export const IN_SIZE = 1024 * 1024;
/** Compressed output comes in pieces of about this size (and the rest at the end). */
export const FLUSH = 256 * 1024;
/** Bytes per output slot of an encode job: a piece plus room for zstd's last call. */
export const SLOT = FLUSH + 256 * 1024;
const WINDOW = 3;
const CREDITS = 2;
const FREE_BUFFERS = 32;

/** Messages to a worker. */
export type ToWorker =
  | { kind: "start"; id: number; level: number; hashInput: boolean }
  | { kind: "data"; id: number; buf: ArrayBuffer; len: number; end: boolean }
  | {
      kind: "encode";
      id: number;
      fsPath: string;
      maxSize: number;
      level: number;
      credits: number;
      /** `credits + 1` output slots of SLOT bytes. */
      slots: SharedArrayBuffer;
    }
  | { kind: "credit"; id: number }
  | { kind: "abort"; id: number };

/** Messages from a worker: a piece of a job's output, its end, or its failure. */
export interface FromWorker {
  id: number;
  /** The input buffer of a "data" message, given back. */
  buf?: ArrayBuffer;
  out?: ArrayBuffer;
  /** Encode jobs: the piece is in this slot, `len` bytes. */
  slot?: number;
  len?: number;
  /** Encode jobs: NAR bytes read since the last message. */
  narBytes?: number;
  /** Set on a job's last message: SHA-256 and size of all output, SHA-256 of the input. */
  digest?: Uint8Array;
  fileSize?: number;
  inputDigest?: Uint8Array;
  error?: string;
  errorName?: string;
}

type Stream = { chunks: AsyncIterable<Buffer>; stats: () => FileStats; sourceError: () => unknown };

class PoolWorker {
  readonly worker: Worker;
  /** Message handlers of the jobs running here. */
  readonly jobs = new Map<number, { onMessage: (m: FromWorker) => void; onFail: (e: Error) => void }>();
  /** Set once the thread has failed; a job sent to it then fails at once. */
  dead?: Error;
  constructor(onBuffer: (b: ArrayBuffer) => void, onExit: (w: PoolWorker) => void) {
    // A small young generation: this thread's garbage is mostly buffers, freed by scavenges.
    const resourceLimits = { maxYoungGenerationSizeMb: 4 };
    if (import.meta.url.endsWith(".ts")) {
      // Run from source (tests): the worker is the .ts file beside this one, and tsx's loader
      // must be registered in the thread before it is imported.
      const api = import.meta.resolve("tsx/esm/api");
      const entry = new URL("./compress-worker.ts", import.meta.url).href;
      const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
      this.worker = new Worker(boot, { eval: true, execArgv: [], resourceLimits });
    } else {
      this.worker = new Worker(new URL("./compress-worker.js", import.meta.url), { resourceLimits });
    }
    this.worker.unref();
    this.worker.on("message", (m: FromWorker) => {
      if (m.buf) onBuffer(m.buf);
      this.jobs.get(m.id)?.onMessage(m);
    });
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const j of this.jobs.values()) j.onFail(err);
      this.jobs.clear();
      onExit(this);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`compression thread exited (code ${code})`)));
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }
}

/** A job's messages as a queue the main thread awaits. */
class Inbox {
  private readonly items: FromWorker[] = [];
  private waiter?: { resolve: (m: FromWorker) => void; reject: (e: Error) => void };
  private failed?: Error;

  push(m: FromWorker): void {
    if (this.waiter) {
      this.waiter.resolve(m);
      this.waiter = undefined;
    } else this.items.push(m);
  }

  fail(e: Error): void {
    this.failed = e;
    this.waiter?.reject(e);
    this.waiter = undefined;
  }

  next(): Promise<FromWorker> {
    const m = this.items.shift();
    if (m) return Promise.resolve(m);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

export class CompressPool {
  private readonly workers: PoolWorker[] = [];
  private readonly free: ArrayBuffer[] = [];
  private readonly slabs: SharedArrayBuffer[] = [];
  private nextId = 1;
  private active = 0;

  constructor(readonly size: number = defaultThreads()) {}

  /**
   * The NAR of `fsPath`, read, hashed, zstd-compressed and hashed again in a worker. Reading stops
   * past `maxSize` bytes. At the end, before the last compressed bytes are yielded, `checkNar`
   * gets the size and SHA-256 of what was read; what it throws, and any error reading the path,
   * ends the iterable as a source error.
   */
  compressPath(
    fsPath: string,
    opts: Pick<CompressOptions, "level" | "onNarBytes" | "checkNar"> & { maxSize?: number },
  ): Stream {
    let stats: FileStats | undefined;
    let sourceError: unknown;
    const pool = this;
    async function* run(): AsyncGenerator<Buffer> {
      const { id, pw, inbox } = pool.startJob();
      const slots = pool.slab();
      let finished = false;
      let failed = false;
      try {
        pw.post({
          kind: "encode",
          id,
          fsPath,
          maxSize: opts.maxSize ?? Number.MAX_SAFE_INTEGER,
          level: opts.level ?? 2,
          credits: CREDITS,
          slots,
        });
        let narBytes = 0;
        for (;;) {
          const m = await inbox.next();
          if (m.error !== undefined) {
            failed = true;
            const e = workerError(m);
            // Reading or encoding the path failed (compression errors are not the source's).
            if (m.errorName !== "ZstdError") sourceError = e;
            throw e;
          }
          narBytes += m.narBytes ?? 0;
          if (m.narBytes) opts.onNarBytes?.(m.narBytes);
          if (m.digest) {
            try {
              stats = jobResult(m, m.digest, narBytes, opts.checkNar);
            } catch (e) {
              sourceError = e;
              throw e;
            }
            finished = true;
          }
          // Copied out of the slot, which the worker refills once credited.
          const out = m.len ? Buffer.from(new Uint8Array(slots, (m.slot ?? 0) * SLOT, m.len)) : undefined;
          if (!finished) pw.post({ kind: "credit", id });
          if (out) yield out;
          if (finished) return;
        }
      } finally {
        pool.endJob(id, pw, finished);
        // The worker writes no more into the slots of a job that ended or failed; an aborted one
        // may still be writing, so its slots are not reused.
        if (finished || failed) pool.freeSlab(slots);
      }
    }
    return {
      chunks: run(),
      stats: () => {
        if (!stats) throw new Error("compressed NAR read before its end");
        return stats;
      },
      sourceError: () => sourceError,
    };
  }

  /**
   * zstd-compresses `source` and hashes the result, like `compressAndHash`. The source may reuse
   * a chunk's memory once the next is asked for: each chunk is copied before that.
   */
  compress(
    source: AsyncIterable<Buffer>,
    opts: Pick<CompressOptions, "level" | "onNarBytes" | "checkNar"> = {},
  ): Stream {
    let stats: FileStats | undefined;
    let sourceError: unknown;
    const pool = this;
    async function* run(): AsyncGenerator<Buffer> {
      const { id, pw, inbox } = pool.startJob();
      pw.post({ kind: "start", id, level: opts.level ?? 2, hashInput: !!opts.checkNar });
      let sent = 0;
      const send = (buf: ArrayBuffer, len: number, end: boolean) => {
        pw.post({ kind: "data", id, buf, len, end }, [buf]);
        sent++;
      };
      const it = source[Symbol.asyncIterator]();
      let buf: Buffer | undefined = pool.buffer();
      let fill = 0;
      let narBytes = 0;
      let finished = false;
      try {
        for (;;) {
          while (buf && sent < WINDOW) {
            let r: IteratorResult<Buffer>;
            // Only what the source throws is a source error (see compressAndHash).
            try {
              r = await it.next();
            } catch (e) {
              sourceError = e;
              throw e;
            }
            if (r.done) {
              send(buf.buffer as ArrayBuffer, fill, true);
              buf = undefined;
              break;
            }
            let chunk = r.value;
            narBytes += chunk.length;
            opts.onNarBytes?.(chunk.length);
            while (chunk.length > 0) {
              const n = Math.min(chunk.length, IN_SIZE - fill);
              chunk.copy(buf, fill, 0, n);
              fill += n;
              chunk = chunk.subarray(n);
              if (fill === IN_SIZE) {
                send(buf.buffer as ArrayBuffer, fill, false);
                buf = pool.buffer();
                fill = 0;
              }
            }
          }
          if (sent === 0) break;
          const m = await inbox.next();
          sent--;
          if (m.error !== undefined) throw workerError(m);
          if (m.digest) {
            // Checked before the last bytes go out, so a wrong NAR never completes an upload.
            try {
              stats = jobResult(m, m.digest, narBytes, opts.checkNar);
            } catch (e) {
              sourceError = e;
              throw e;
            }
            finished = true;
          }
          if (m.out && m.out.byteLength > 0) yield Buffer.from(m.out);
        }
        if (!finished) throw new Error("compression ended without its result");
      } finally {
        pool.endJob(id, pw, finished);
        await it.return?.();
      }
    }
    return {
      chunks: run(),
      stats: () => {
        if (!stats) throw new Error("compressed NAR read before its end");
        return stats;
      },
      sourceError: () => sourceError,
    };
  }

  /** Stops the threads (jobs still running fail). */
  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  /** Starts a job on a new worker while the pool grows, else the least busy; messages go to its inbox. */
  private startJob(): { id: number; pw: PoolWorker; inbox: Inbox } {
    const id = this.nextId++;
    const pw = this.pick();
    const inbox = new Inbox();
    if (pw.dead) inbox.fail(pw.dead);
    else pw.jobs.set(id, { onMessage: (m) => inbox.push(m), onFail: (e) => inbox.fail(e) });
    // Threads keep the process alive only while a job runs: an idle pool must not block exit.
    if (this.active++ === 0) for (const w of this.workers) w.worker.ref();
    return { id, pw, inbox };
  }

  /** Ends job `id` on its worker: aborted there unless it finished; threads unref once idle. */
  private endJob(id: number, pw: PoolWorker, finished: boolean): void {
    if (!finished && !pw.dead) pw.post({ kind: "abort", id });
    pw.jobs.delete(id);
    if (--this.active === 0) for (const w of this.workers) w.worker.unref();
  }

  private slab(): SharedArrayBuffer {
    // One slot more than credits: the worker fills the next slot while the main thread still
    // holds (has not credited) up to CREDITS others.
    return this.slabs.pop() ?? new SharedArrayBuffer((CREDITS + 1) * SLOT);
  }

  private freeSlab(s: SharedArrayBuffer): void {
    if (this.slabs.length < 16) this.slabs.push(s);
  }

  private buffer(): Buffer {
    return Buffer.from(this.free.pop() ?? new ArrayBuffer(IN_SIZE));
  }

  /** The worker with the fewest jobs; threads start on first use. */
  private pick(): PoolWorker {
    if (this.workers.length < this.size) {
      const w = new PoolWorker(
        (b) => {
          if (b.byteLength === IN_SIZE && this.free.length < FREE_BUFFERS) this.free.push(b);
        },
        (dead) => {
          const i = this.workers.indexOf(dead);
          if (i >= 0) this.workers.splice(i, 1);
        },
      );
      if (this.active > 0) w.worker.ref();
      this.workers.push(w);
      return w;
    }
    let best = this.workers[0] as PoolWorker;
    for (const w of this.workers) if (w.jobs.size < best.jobs.size) best = w;
    return best;
  }
}

/**
 * A job's result from its last message (the one carrying `digest`): the NAR is checked first
 * (`checkNar` throws when it is wrong), then FileHash/FileSize are reported.
 */
function jobResult(
  m: FromWorker,
  digest: Uint8Array,
  narBytes: number,
  checkNar: ((narBytes: number, narHash: Hash) => void) | undefined,
): FileStats {
  checkNar?.(narBytes, { algo: "sha256", digest: Buffer.from(m.inputDigest ?? []) });
  return { fileHash: { algo: "sha256", digest: Buffer.from(digest) }, fileSize: m.fileSize ?? 0, narBytes };
}

function workerError(m: FromWorker): Error {
  const e = new Error(m.error);
  if (m.errorName && m.errorName !== "Error") e.name = m.errorName;
  return e;
}

/** Threads for compression: NIXCACHE_COMPRESS_THREADS, else one per core (at most 8). */
export function defaultThreads(): number {
  const env = Number(process.env.NIXCACHE_COMPRESS_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, Math.min(8, availableParallelism()));
}

let shared: CompressPool | undefined;

/** The process-wide pool. */
export function sharedCompressPool(): CompressPool {
  shared ??= new CompressPool();
  return shared;
}
