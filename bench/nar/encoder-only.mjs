// The encoder without the CLI around it: node + dist/nix/nar-encode.js, writing to stdout through
// the same pipe writer as `nixcache nar dump`. Separates the encoder's cost from the CLI's start-up.
import { encodeNarBorrowed } from "../../dist/nix/nar-encode.js";
import { writeChunks } from "../../dist/util/pipe-writer.js";

await writeChunks(encodeNarBorrowed(process.argv[2]));
