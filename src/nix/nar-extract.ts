// Unpacks a NAR into a new directory tree, as `nix-store --restore DEST` does.
//
// Safety: the decoder guarantees entry names are single path components (no "/", ".", "..", NUL),
// and every path we write is DEST joined with such names, created by us in archive order. On top of
// that nothing is ever opened through a symlink: files are created with O_CREAT|O_EXCL|O_NOFOLLOW
// and directories with mkdir (which fails on any existing name), so even a concurrent attacker that
// plants a symlink inside DEST makes extraction fail instead of writing outside it.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { NixcacheError } from "../util/errors.js";
import { type NarEntry, parseNar } from "./nar-decode.js";

export class NarExtractError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("failed", message, options);
  }
}

const SLASH = Buffer.from("/");
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Extracts the NAR read from `source` to `dest`, which must not exist yet (its parent must). Modes
 * follow Nix 2.8: directories 0777 and files 0666 less the umask; executables then get +x for all.
 * On a malformed archive the NarError propagates and what was extracted so far stays (like Nix).
 */
export async function extractNar(source: AsyncIterable<Buffer>, dest: string): Promise<void> {
  const root = Buffer.from(dest);
  for await (const entry of parseNar(source)) {
    const path =
      entry.segments.length === 0
        ? root
        : Buffer.concat([root, ...entry.segments.flatMap((s) => [SLASH, s])]);
    await writeEntry(entry, path, entry.segments.length === 0 ? dest : undefined);
  }
}

async function writeEntry(entry: NarEntry, path: Buffer, rootName: string | undefined): Promise<void> {
  try {
    if (entry.type === "directory") {
      mkdirSync(path, 0o777);
    } else if (entry.type === "symlink") {
      symlinkSync(entry.target, path);
    } else {
      const fd = openSync(path, CREATE_FLAGS, 0o666);
      try {
        for await (const chunk of entry.contents) {
          let done = 0;
          while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
        }
        if (entry.executable) fchmodSync(fd, (fstatSync(fd).mode & 0o7777) | 0o111);
      } finally {
        closeSync(fd);
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EEXIST" && rootName !== undefined) {
      throw new NarExtractError(`cannot extract to '${rootName}': it already exists`);
    }
    if (e.code) throw new NarExtractError(`cannot create '${path.toString()}': ${e.message}`);
    throw err;
  }
}
