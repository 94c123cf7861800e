// Small file helpers shared by the library.
import { readFile } from "node:fs/promises";

/** A text file's contents, or undefined when it does not exist (other errors are thrown). */
export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}
