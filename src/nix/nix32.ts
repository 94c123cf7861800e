/** Nix's base-32: its own alphabet (no e, o, u, t), written from the last character backwards. */
export const NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < NIX32_ALPHABET.length; i++) DECODE[NIX32_ALPHABET.charCodeAt(i)] = i;

export function nix32Length(byteLength: number): number {
  return byteLength === 0 ? 0 : Math.floor((byteLength * 8 - 1) / 5) + 1;
}

export function nix32Encode(bytes: Uint8Array): string {
  const len = nix32Length(bytes.length);
  let out = "";
  for (let k = len - 1; k >= 0; k--) {
    const b = k * 5;
    const i = b >> 3;
    const j = b & 7;
    const lo = (bytes[i] ?? 0) >> j;
    const hi = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0;
    out += NIX32_ALPHABET[(lo | hi) & 31];
  }
  return out;
}

/** Decodes Nix32 into `byteLength` bytes (inferred when omitted); throws on bad characters or overflow. */
export function nix32Decode(text: string, byteLength?: number): Buffer {
  const n = byteLength ?? Math.floor((text.length * 5) / 8);
  if (nix32Length(n) !== text.length) {
    throw new Error(`invalid nix32 string of length ${text.length}: expected ${nix32Length(n)} characters`);
  }
  const out = Buffer.alloc(n);
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(text.length - 1 - k);
    const digit = c < 128 ? (DECODE[c] ?? -1) : -1;
    if (digit < 0) throw new Error(`invalid nix32 character ${JSON.stringify(text[text.length - 1 - k])}`);
    const b = k * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] = (out[i] ?? 0) | ((digit << j) & 0xff);
    const carry = digit >> (8 - j);
    if (i + 1 < n) out[i + 1] = (out[i + 1] ?? 0) | carry;
    else if (carry)
      throw new Error(`invalid nix32 string ${JSON.stringify(text)}: value overflows ${n} bytes`);
  }
  return out;
}
