// A thread of the CompressPool (compress-pool.ts). Two kinds of job, several at once, each with
// its own zstd context:
// - "encode": reads the NAR of a path itself (encodeNarBorrowed: no allocation per chunk),
//   hashes it, compresses it straight into slots of a SharedArrayBuffer the main thread copies
//   out of, and hashes the result. Nothing is allocated per piece here: buffers malloc'ed in this
//   thread and freed by the main one bloated the process by ~100 MB of malloc arenas.
// - "start"/"data": compresses NAR bytes the main thread sends in transferred buffers, which go
//   back with the reply to be reused.
import { createHash, type Hash as Sha } from "node:crypto";
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import type { CCtx } from "zstd-napi/binding.js";
import { encodeNarBorrowed } from "../nix/nar-encode.js";
import { FLUSH, type FromWorker, SLOT, type ToWorker } from "./compress-pool.js";

// The native binding itself: its streaming call writes into our buffer, where the stream class
// allocates a fresh 128 KiB buffer per output piece.
const zstd = createRequire(import.meta.url)("zstd-napi/binding.js") as typeof import("zstd-napi/binding.js");

const OUT_ROOM = zstd.cStreamOutSize();

interface Job {
  cctx: CCtx;
  hash: Sha;
  fileSize: number;
  /** SHA-256 of the input, when asked for. */
  narHash?: Sha;
  /** Compressed bytes not yet sent: out[0, pos). */
  out: Buffer;
  pos: number;
  /** Encode jobs: messages the main thread is still ready to take. */
  credits: number;
  wake?: () => void;
  aborted: boolean;
  encoding: boolean;
  /** Encode jobs: output slots shared with the main thread, used in turn; `seq` counts pieces. */
  slots?: SharedArrayBuffer;
  seq: number;
}

const port = parentPort;
if (!port) throw new Error("compress-worker.ts runs as a worker thread");
const send = (m: FromWorker, transfer: ArrayBuffer[]) => port.postMessage(m, transfer);
const jobs = new Map<number, Job>();
// Contexts and output buffers of finished jobs, reused: fresh ones cost allocation and page faults.
const idleCtx: CCtx[] = [];
const idleOut: Buffer[] = [];

port.on("message", (m: ToWorker) => {
  switch (m.kind) {
    case "start":
      jobs.set(m.id, newJob(m.level, m.hashInput, 0, false));
      return;
    case "encode": {
      const job = newJob(m.level, true, m.credits, true);
      job.slots = m.slots;
      job.out = slot(job);
      jobs.set(m.id, job);
      encode(m.id, job, m.fsPath, m.maxSize).catch((e: Error) => {
        release(m.id, job);
        send({ id: m.id, error: e.message, errorName: e.name }, []);
      });
      return;
    }
    case "credit": {
      const job = jobs.get(m.id);
      if (!job) return;
      job.credits++;
      job.wake?.();
      return;
    }
    case "abort": {
      const job = jobs.get(m.id);
      if (!job) return;
      job.aborted = true;
      job.wake?.();
      // An encode job releases itself when its loop sees the flag.
      if (!job.encoding) release(m.id, job);
      return;
    }
    case "data": {
      const job = jobs.get(m.id);
      if (!job) return; // aborted meanwhile; its buffer is dropped
      try {
        const input = Buffer.from(m.buf, 0, m.len);
        job.narHash?.update(input);
        compressInto(job, input, m.end, true);
        const out = take(job);
        if (m.end) {
          const fin = finish(job);
          release(m.id, job);
          send({ id: m.id, out, buf: m.buf, ...fin }, [out, m.buf]);
        } else send({ id: m.id, out, buf: m.buf }, [out, m.buf]);
      } catch (e) {
        release(m.id, job);
        send({ id: m.id, error: (e as Error).message, errorName: "ZstdError", buf: m.buf }, [m.buf]);
      }
      return;
    }
  }
});

async function encode(id: number, job: Job, fsPath: string, maxSize: number): Promise<void> {
  let narBytes = 0;
  let unreported = 0;
  let stopped = false;
  const flush = async (end: boolean): Promise<void> => {
    while (job.credits === 0 && !job.aborted) await new Promise<void>((r) => (job.wake = r));
    job.wake = undefined;
    if (job.aborted) return;
    job.credits--;
    const len = job.pos;
    job.hash.update(job.out.subarray(0, len));
    job.fileSize += len;
    const fin = end ? finish(job) : {};
    send({ id, slot: job.seq % slotCount(job), len, narBytes: unreported, ...fin }, []);
    unreported = 0;
    job.seq++;
    job.out = slot(job);
    job.pos = 0;
  };
  // Compresses all of `src`, sending full slots on the way.
  const feed = async (src: Buffer, end: boolean): Promise<void> => {
    for (;;) {
      const rest = compressInto(job, src, end, false);
      if (rest === undefined || job.aborted) return;
      await flush(false);
      src = rest;
    }
  };
  const nar = encodeNarBorrowed(fsPath);
  try {
    for await (const chunk of nar) {
      if (job.aborted) break;
      narBytes += chunk.length;
      unreported += chunk.length;
      job.narHash?.update(chunk);
      // A file that grew since it was registered: stop reading; the size tells the main thread.
      if (narBytes > maxSize) {
        stopped = true;
        break;
      }
      await feed(chunk, false);
      if (job.pos >= FLUSH) await flush(false);
    }
    if (!job.aborted) {
      if (!stopped) await feed(Buffer.alloc(0), true);
      await flush(true);
    }
  } finally {
    await nar.return(undefined);
    release(id, job);
  }
}

function slotCount(job: Job): number {
  return Math.floor((job.slots as SharedArrayBuffer).byteLength / SLOT);
}

function slot(job: Job): Buffer {
  return Buffer.from(job.slots as SharedArrayBuffer, (job.seq % slotCount(job)) * SLOT, SLOT);
}

function newJob(level: number, hashInput: boolean, credits: number, encoding: boolean): Job {
  const cctx = idleCtx.pop() ?? new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, level);
  return {
    cctx,
    hash: createHash("sha256"),
    fileSize: 0,
    narHash: hashInput ? createHash("sha256") : undefined,
    out: encoding ? Buffer.alloc(0) : (idleOut.pop() ?? Buffer.allocUnsafeSlow(2 * FLUSH)),
    pos: 0,
    credits,
    aborted: false,
    encoding,
    seq: 0,
  };
}

/**
 * Compresses `input` onto the job's pending output. A private buffer (`grow`) is grown as
 * needed; a slot is not: when it has too little room left, returns the input not yet consumed
 * (the caller sends the slot and calls again). Returns undefined once all is consumed (and, at
 * the end, flushed).
 */
function compressInto(job: Job, input: Buffer, end: boolean, grow: boolean): Buffer | undefined {
  const op = end ? zstd.EndDirective.end : zstd.EndDirective.continue;
  let src = input;
  for (;;) {
    if (job.out.length - job.pos < OUT_ROOM) {
      if (!grow) return src;
      const bigger = Buffer.allocUnsafeSlow(job.out.length * 2);
      job.out.copy(bigger, 0, 0, job.pos);
      job.out = bigger;
    }
    const [left, produced, consumed] = job.cctx.compressStream2(job.out.subarray(job.pos), src, op);
    job.pos += produced;
    src = src.subarray(consumed);
    if (src.length === 0 && (!end || left === 0)) return undefined;
  }
}

/** The pending output in a buffer of its own (to transfer), hashed and counted. */
function take(job: Job): ArrayBuffer {
  const chunk = job.out.subarray(0, job.pos);
  job.hash.update(chunk);
  job.fileSize += job.pos;
  // Not `new ArrayBuffer`, which zero-fills first.
  const out = Buffer.allocUnsafeSlow(job.pos);
  chunk.copy(out);
  job.pos = 0;
  return out.buffer as ArrayBuffer;
}

function finish(job: Job): { digest: Uint8Array; fileSize: number; inputDigest?: Uint8Array } {
  return { digest: job.hash.digest(), fileSize: job.fileSize, inputDigest: job.narHash?.digest() };
}

function release(id: number, job: Job): void {
  if (jobs.get(id) !== job) return;
  jobs.delete(id);
  job.cctx.reset(zstd.ResetDirective.sessionOnly);
  if (idleCtx.length < 16) idleCtx.push(job.cctx);
  if (!job.encoding && idleOut.length < 16 && job.out.length === 2 * FLUSH) idleOut.push(job.out);
}
