import type { Command } from "commander";
import { generateKeyFiles, readSecretKeyFile } from "../keys/key-files.js";
import { formatPublicKey, publicKeyOf } from "../nix/signing.js";
import { printJson, UserError } from "./output.js";

export function registerKeyCommands(program: Command): void {
  const key = program.command("key").description("signing keys in Nix's binary-cache key format");

  key
    .command("generate")
    .description(
      "Generate an ed25519 signing key pair, interchangeable with `nix-store --generate-binary-cache-key`.\n" +
        "The secret file is created mode 0600; the public key is also printed on stdout.",
    )
    .argument("<name>", "key name, conventionally <host>-<n>, e.g. cache.example.org-1")
    .requiredOption("--secret <file>", "where to write the secret key")
    .requiredOption("--public <file>", "where to write the public key")
    .option("--force", "replace existing key files")
    .option("--json", "print {name, publicKey, secretFile, publicFile} as JSON")
    .addHelpText("after", "\nExample:\n  nixcache key generate cache.example.org-1 --secret sk --public pk")
    .action(async (name: string, o: { secret: string; public: string; force?: boolean; json?: boolean }) => {
      if (!name || name.includes(":"))
        throw new UserError(`key name ${JSON.stringify(name)} must be non-empty and contain no ':'`, 2);
      const pub = await generateKeyFiles(name, o.secret, o.public, o.force);
      if (o.json)
        printJson({ name, publicKey: formatPublicKey(pub), secretFile: o.secret, publicFile: o.public });
      else process.stdout.write(`${formatPublicKey(pub)}\n`);
    });

  key
    .command("public")
    .description("Print the public key belonging to a secret key file.")
    .argument("<secret-file>", "a secret key in Nix's format")
    .action(async (file: string) => {
      // Exit 1 for a bad key file, as before the error codes.
      const sk = await readSecretKeyFile(file).catch((e: Error) => {
        throw new UserError(e.message);
      });
      process.stdout.write(`${formatPublicKey(publicKeyOf(sk))}\n`);
    });
}
