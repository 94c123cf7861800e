// age decryption for secrets repositories. The file format, the header MAC, the payload stream and
// the X25519 (and post-quantum hybrid) recipient types are `age-encryption` (typage, by age's
// author). agenix repositories mostly encrypt to SSH keys, which typage does not read: the
// ssh-ed25519 recipient type (age's spec, as `age` and `rage` implement it) is an Identity of ours
// plugged into typage's Decrypter. ssh-rsa and passphrase-protected SSH keys are not supported.
import {
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Identity } from "age-encryption";
import { NixcacheError } from "../util/errors.js";

/** One identity to decrypt with, and the recipient it answers to (as secrets.nix would list it). */
export interface AgeIdentity {
  kind: "x25519" | "hybrid" | "ssh-ed25519";
  /** `age1...`, or `ssh-ed25519 AAAA...`. */
  recipient: string;
  /** The file it came from. */
  source: string;
  /** What typage's Decrypter.addIdentity takes: the identity string, or our own Identity. */
  identity: string | Identity;
}

const SSH_LABEL = "age-encryption.org/v1/ssh-ed25519";
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");

function sshString(b: Buffer, at: number): { value: Buffer; next: number } {
  if (at + 4 > b.length) throw new Error("truncated");
  const n = b.readUInt32BE(at);
  if (at + 4 + n > b.length) throw new Error("truncated");
  return { value: b.subarray(at + 4, at + 4 + n), next: at + 4 + n };
}

const sshWire = (...parts: Buffer[]) =>
  Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );

const x25519Private = (scalar: Buffer): KeyObject =>
  createPrivateKey({ key: Buffer.concat([X25519_PKCS8, scalar]), format: "der", type: "pkcs8" });
const x25519Public = (u: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([X25519_SPKI, u]), format: "der", type: "spki" });
const rawPublic = (k: KeyObject): Buffer => {
  const der = createPublicKey(k).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 32));
};

/** Parses an unencrypted OpenSSH ed25519 private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
export function parseOpenSshEd25519(text: string, file: string): { seed: Buffer; publicKey: Buffer } {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!m) throw new NixcacheError("usage", `${file}: not an OpenSSH private key`);
  const b = Buffer.from((m[1] as string).replace(/\s+/g, ""), "base64");
  const magic = Buffer.from("openssh-key-v1\0");
  try {
    if (!b.subarray(0, magic.length).equals(magic)) throw new Error("bad magic");
    const cipher = sshString(b, magic.length);
    const kdf = sshString(b, cipher.next);
    const kdfOpts = sshString(b, kdf.next);
    if (cipher.value.toString() !== "none")
      throw new NixcacheError(
        "usage",
        `${file}: the SSH key is passphrase-protected; decrypt a copy first (ssh-keygen -p -N "" -f COPY)`,
      );
    let at = kdfOpts.next + 4; // number of keys
    at = sshString(b, at).next; // public key blob
    const priv = sshString(b, at).value;
    // check1, check2, then the key itself
    if (priv.readUInt32BE(0) !== priv.readUInt32BE(4)) throw new Error("check bytes differ");
    const type = sshString(priv, 8);
    if (type.value.toString() !== "ssh-ed25519")
      throw new NixcacheError(
        "usage",
        `${file}: an ${type.value.toString()} key; only ssh-ed25519 keys are supported`,
      );
    const pub = sshString(priv, type.next);
    const secret = sshString(priv, pub.next);
    if (pub.value.length !== 32 || secret.value.length !== 64) throw new Error("bad key sizes");
    return { seed: Buffer.from(secret.value.subarray(0, 32)), publicKey: Buffer.from(pub.value) };
  } catch (e) {
    if (e instanceof NixcacheError) throw e;
    throw new NixcacheError("usage", `${file}: malformed OpenSSH private key (${(e as Error).message})`);
  }
}

/**
 * The ssh-ed25519 recipient type: `-> ssh-ed25519 <tag> <ephemeral share>`, tag = the first 4
 * bytes of SHA-256 of the SSH public key blob. The Ed25519 key maps to X25519 (its scalar is the
 * clamped first half of SHA-512(seed); its public point then is that scalar times the base point),
 * the shared secret is tweaked by an HKDF of the key blob, and the file key is unwrapped with
 * ChaCha20-Poly1305 under HKDF(shared, ephemeral ‖ our X25519 public, label).
 */
export function sshEd25519Identity(seed: Buffer, publicKey: Buffer, source: string): AgeIdentity {
  const blob = sshWire(Buffer.from("ssh-ed25519"), publicKey);
  const tag = createHash("sha256").update(blob).digest().subarray(0, 4).toString("base64").replace(/=+$/, "");
  const scalar = createHash("sha512").update(seed).digest().subarray(0, 32);
  const priv = x25519Private(Buffer.from(scalar));
  const ourPublic = rawPublic(priv);
  const tweak = Buffer.from(hkdfSync("sha256", Buffer.alloc(0), blob, SSH_LABEL, 32));
  const unwrapper: Identity = {
    unwrapFileKey(stanzas) {
      for (const s of stanzas) {
        if (s.args[0] !== "ssh-ed25519" || s.args[1] !== tag || s.args.length !== 3) continue;
        const share = Buffer.from(s.args[2] as string, "base64");
        if (share.length !== 32 || s.body.length !== 32) continue;
        const shared = diffieHellman({ privateKey: priv, publicKey: x25519Public(share) });
        const tweaked = diffieHellman({ privateKey: x25519Private(tweak), publicKey: x25519Public(shared) });
        const salt = Buffer.concat([share, ourPublic]);
        const key = Buffer.from(hkdfSync("sha256", tweaked, salt, SSH_LABEL, 32));
        const d = createDecipheriv("chacha20-poly1305", key, Buffer.alloc(12), { authTagLength: 16 });
        d.setAuthTag(Buffer.from(s.body.subarray(16)));
        try {
          return new Uint8Array(Buffer.concat([d.update(Buffer.from(s.body.subarray(0, 16))), d.final()]));
        } catch {
          return null;
        }
      }
      return null;
    },
  };
  return {
    kind: "ssh-ed25519",
    recipient: `ssh-ed25519 ${blob.toString("base64")}`,
    source,
    identity: unwrapper,
  };
}

/**
 * Reads an identity file: age's own (`AGE-SECRET-KEY-1...` lines, `#` comments, as age-keygen
 * writes) or an OpenSSH ed25519 private key. The file should be private (mode 0600).
 */
export async function readIdentityFile(file: string): Promise<AgeIdentity[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new NixcacheError(
      "usage",
      `cannot read identity ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  if (text.includes("-----BEGIN OPENSSH PRIVATE KEY-----")) {
    const { seed, publicKey } = parseOpenSshEd25519(text, file);
    return [sshEd25519Identity(seed, publicKey, file)];
  }
  const age = await import("age-encryption");
  const out: AgeIdentity[] = [];
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue;
    const hybrid = line.startsWith("AGE-SECRET-KEY-PQ-1");
    if (!hybrid && !line.startsWith("AGE-SECRET-KEY-1"))
      throw new NixcacheError(
        "usage",
        `${file}: expected AGE-SECRET-KEY-1... (or -PQ-1...) lines, or an OpenSSH ed25519 private key`,
      );
    let recipient: string;
    try {
      recipient = await age.identityToRecipient(line);
    } catch {
      throw new NixcacheError("usage", `${file}: malformed age identity`);
    }
    out.push({ kind: hybrid ? "hybrid" : "x25519", recipient, source: file, identity: line });
  }
  if (out.length === 0) throw new NixcacheError("usage", `${file}: no identity in it`);
  return out;
}

/** Decrypts an age file (binary or ASCII-armored) with any of the identities; UTF-8 text out. */
export async function decryptAge(
  bytes: Uint8Array,
  identities: readonly AgeIdentity[],
  shown: string,
): Promise<string> {
  if (identities.length === 0)
    throw new NixcacheError("usage", `${shown} is age-encrypted: pass --identity FILE to decrypt it`);
  const age = await import("age-encryption");
  const d = new age.Decrypter();
  for (const i of identities) d.addIdentity(i.identity);
  let input: Uint8Array = bytes;
  const head = Buffer.from(bytes.subarray(0, 40)).toString("latin1");
  if (head.startsWith("-----BEGIN AGE ENCRYPTED FILE-----"))
    input = age.armor.decode(Buffer.from(bytes).toString("utf8"));
  try {
    return await d.decrypt(input, "text");
  } catch (e) {
    // typage's messages describe the header, never the plaintext.
    throw new NixcacheError(
      "usage",
      `cannot decrypt ${shown} with the given identities: ${(e as Error).message}`,
    );
  }
}
