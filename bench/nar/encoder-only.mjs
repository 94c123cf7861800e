// The encoder without the CLI around it: node + dist/nix/nar-encode.js, writing to stdout the way
// `nixcache nar dump` does. Separates the encoder's cost from the CLI's start-up.
import { writeSync } from "node:fs";
import { encodeNarBorrowed } from "../../dist/nix/nar-encode.js";

for await (const chunk of encodeNarBorrowed(process.argv[2])) {
  let done = 0;
  while (done < chunk.length) done += writeSync(1, chunk, done, chunk.length - done);
}
