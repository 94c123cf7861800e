import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { readPublicKeyArg } from "../keys/key-files.js";
import { NarInfoError, narInfoFingerprint, parseNarInfo, verifyNarInfo } from "../nix/narinfo.js";
import { readStdin } from "../util/stdin.js";
import { printJson, UserError } from "./output.js";

export function registerNarInfoCommands(program: Command): void {
  const narinfo = program.command("narinfo").description("inspect and check .narinfo files");

  narinfo
    .command("verify")
    .description(
      "Check a narinfo's signatures against trusted public keys. Exits 0 only when at least one\n" +
        "signature verifies; 1 when none does; 2 when the file or a key is malformed.",
    )
    .argument("<file>", "a .narinfo file, or - for stdin")
    .requiredOption(
      "--trusted-key <key...>",
      "a trusted public key (name:base64) or a file holding one; may be repeated",
    )
    .option("--json", "print {storePath, fingerprint, signatures, trustedBy, valid} as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  nixcache narinfo verify ./abc.narinfo --trusted-key cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
    )
    .action(async (file: string, o: { trustedKey: string[]; json?: boolean }) => {
      const text =
        file === "-"
          ? await readStdin()
          : await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
              throw new UserError(`cannot read ${file}: ${e.code ?? e.message}`, 2);
            });
      const keys = await Promise.all(
        o.trustedKey.map((k) =>
          readPublicKeyArg(k).catch((e: Error) => {
            throw new UserError(e.message, 2);
          }),
        ),
      );
      let ni: ReturnType<typeof parseNarInfo>;
      try {
        ni = parseNarInfo(text);
      } catch (e) {
        if (e instanceof NarInfoError) throw new UserError(`${file}: ${e.message}`, 2);
        throw e;
      }
      const trustedBy = verifyNarInfo(ni, keys);
      const valid = trustedBy.length > 0;
      if (o.json) {
        printJson({
          storePath: ni.storePath,
          fingerprint: narInfoFingerprint(ni),
          signatures: ni.sigs.length,
          trustedBy,
          valid,
        });
      } else if (valid) {
        process.stdout.write(`${ni.storePath}: signed by ${trustedBy.join(", ")}\n`);
      } else {
        const names = ni.sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(":")))).join(", ") || "none";
        process.stdout.write(
          `${ni.storePath}: no valid signature from a trusted key (signatures by: ${names})\n`,
        );
      }
      if (!valid) process.exitCode = 1;
    });
}
