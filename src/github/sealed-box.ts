// GitHub Actions secrets travel as libsodium sealed boxes (crypto_box_seal: an ephemeral X25519
// key, XSalsa20-Poly1305) to the repository's public key, base64-encoded both ways.
import { NixcacheError } from "../util/errors.js";

/** Seals `value` to GitHub's base64 X25519 `publicKey`; returns the base64 `encrypted_value`. */
export async function sealForGitHub(value: string, publicKey: string): Promise<string> {
  const { default: sodium } = await import("libsodium-wrappers");
  await sodium.ready;
  const key = Buffer.from(publicKey, "base64");
  if (key.length !== sodium.crypto_box_PUBLICKEYBYTES)
    throw new NixcacheError(
      "invalid",
      `the repository public key GitHub sent is ${key.length} bytes, expected ${sodium.crypto_box_PUBLICKEYBYTES}`,
    );
  const sealed = sodium.crypto_box_seal(Buffer.from(value, "utf8"), key);
  return Buffer.from(sealed).toString("base64");
}
