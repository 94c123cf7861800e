// Builders for what a client uploads to the server: real NARs (from our encoder, checked against
// nix-store --dump elsewhere), compressed, and the narinfo that describes them.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { type Compression, compressor, narExtension } from "../../src/codec/compression.js";
import { formatHashNix32 } from "../../src/nix/hash.js";
import { encodeNar } from "../../src/nix/nar-encode.js";
import { formatNarInfo, type NarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";

export interface Upload {
  storePath: string;
  hash: string;
  nar: Buffer;
  file: Buffer;
  url: string;
  narinfo: NarInfo;
}

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

/** A NAR of a small directory tree whose contents depend on `seed`. */
export async function makeNar(seed: string, extraBytes = 0): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "nixcache-nar-"));
  try {
    await mkdir(join(dir, "bin"));
    await writeFile(join(dir, "bin", "hello"), `#!/bin/sh\necho ${seed}\n`, { mode: 0o755 });
    await writeFile(join(dir, "data"), Buffer.concat([Buffer.from(seed), randomBytes(extraBytes)]));
    return await collect(encodeNar(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function compress(data: Buffer, c: Compression): Promise<Buffer> {
  return collect(Readable.from([data]).pipe(compressor(c)));
}

/** An upload of a fresh NAR under a made-up (but valid) store path, as `nix copy` would send it. */
export async function makeUpload(name: string, c: Compression = "zstd", extraBytes = 0): Promise<Upload> {
  const hash = nix32Encode(randomBytes(20));
  const storePath = `/nix/store/${hash}-${name}`;
  const nar = await makeNar(`${name}-${hash}`, extraBytes);
  const { file, url, fields } = await packed(nar, c);
  const narinfo: NarInfo = {
    storePath,
    ...fields,
    narHash: { algo: "sha256", digest: createHash("sha256").update(nar).digest() },
    narSize: nar.length,
    references: [],
    sigs: [],
    extra: [],
  };
  return { storePath, hash, nar, file, url, narinfo };
}

/** The same store path and NAR as `u`, compressed with `c`: another file, at another URL. */
export async function recompressed(u: Upload, c: Compression): Promise<Upload> {
  const { file, url, fields } = await packed(u.nar, c);
  return { ...u, file, url, narinfo: { ...u.narinfo, ...fields } };
}

/** `nar` compressed with `c`, at a URL named by the file's hash as Nix names them, and its narinfo fields. */
async function packed(nar: Buffer, c: Compression) {
  const file = await compress(nar, c);
  const fileHash = { algo: "sha256" as const, digest: createHash("sha256").update(file).digest() };
  const url = `nar/${nix32Encode(fileHash.digest)}${narExtension(c)}`;
  return { file, url, fields: { url, compression: c, fileHash, fileSize: file.length } };
}

export function narInfoText(ni: NarInfo): string {
  return formatNarInfo(ni);
}

/** The Cachix `narInfoCreate` describing an upload, with fields replaced by `overrides`. */
export function narInfoCreateFor(u: Upload, overrides: Record<string, unknown> = {}) {
  return {
    cStoreHash: u.hash,
    cStoreSuffix: u.storePath.slice(44),
    cNarHash: formatHashNix32(u.narinfo.narHash),
    cNarSize: u.nar.length,
    cFileHash: createHash("sha256").update(u.file).digest("hex"),
    cFileSize: u.file.length,
    cReferences: [] as string[],
    cDeriver: "unknown-deriver",
    cSig: null as string | null,
    ...overrides,
  };
}

export { formatHashNix32, text };

/** Resolves once `cond` holds (checked every few milliseconds); rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
