import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);

// src/util/errors.ts
var NixcacheError = class extends Error {
  code;
  constructor(code, message, options) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
};
var OUT_OF_SPACE = /* @__PURE__ */ new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL", "53100"]);
function outOfSpace(err) {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof NixcacheError && e.code === "full") return e;
    if (OUT_OF_SPACE.has(String(e.code))) return e;
  }
  return void 0;
}
function errorCode(err) {
  if (outOfSpace(err)) return "full";
  return err instanceof NixcacheError ? err.code : "internal";
}
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

// src/nix/signing.ts
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify
} from "node:crypto";
var PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
var SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
var KeyFormatError = class extends NixcacheError {
  constructor(message, options) {
    super("invalid", message, options);
  }
};
function splitKeyText(text, what, size) {
  const t = text.trim();
  const colon = t.indexOf(":");
  if (colon <= 0) throw new KeyFormatError(`${what} is not of the form <name>:<base64>`);
  const name = t.slice(0, colon);
  const b64 = t.slice(colon + 1);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    throw new KeyFormatError(`${what} ${JSON.stringify(name)} has invalid base64`);
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length !== size) {
    throw new KeyFormatError(`${what} ${JSON.stringify(name)} holds ${bytes.length} bytes, expected ${size}`);
  }
  return { name, bytes };
}
function parseSecretKey(text) {
  const { name, bytes } = splitKeyText(text, "secret key", 64);
  const seed = bytes.subarray(0, 32);
  const publicKey = bytes.subarray(32);
  const derived = rawPublicKey(privateKeyObject(seed));
  if (!derived.equals(publicKey)) {
    throw new KeyFormatError(
      `secret key ${JSON.stringify(name)} is inconsistent: its public half does not match its seed`
    );
  }
  return { name, seed: Buffer.from(seed), publicKey: Buffer.from(publicKey) };
}
function parsePublicKey(text) {
  const { name, bytes } = splitKeyText(text, "public key", 32);
  return { name, key: bytes };
}
function publicKeyOf(k) {
  return { name: k.name, key: k.publicKey };
}
function secretKeyFromSeed(name, seed) {
  if (seed.length !== 32) throw new KeyFormatError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  return { name, seed: Buffer.from(seed), publicKey: rawPublicKey(privateKeyObject(seed)) };
}
var keyObjects = /* @__PURE__ */ new WeakMap();
function privateKeyObject(seed) {
  let k = keyObjects.get(seed);
  if (!k) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
    keyObjects.set(seed, k);
  }
  return k;
}
function rawPublicKey(privateKey) {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 32));
}
function signRaw(key, message) {
  return sign(null, Buffer.from(message), privateKeyObject(key.seed));
}
function signDetached(key, message) {
  return `${key.name}:${signRaw(key, message).toString("base64")}`;
}
function verifyRaw(key, message, signature) {
  if (signature.length !== 64) return false;
  const pub = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key.key]), format: "der", type: "spki" });
  return verify(null, Buffer.from(message), pub, signature);
}
function verifyDetached(message, sig, trusted) {
  const colon = sig.indexOf(":");
  if (colon <= 0) return void 0;
  const name = sig.slice(0, colon);
  const raw = Buffer.from(sig.slice(colon + 1), "base64");
  for (const key of trusted) if (key.name === name && verifyRaw(key, message, raw)) return key;
  return void 0;
}

// src/nix/nix32.ts
var NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";
var DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < NIX32_ALPHABET.length; i++) DECODE[NIX32_ALPHABET.charCodeAt(i)] = i;
function nix32Length(byteLength) {
  return byteLength === 0 ? 0 : Math.floor((byteLength * 8 - 1) / 5) + 1;
}
function nix32Encode(bytes) {
  const len = nix32Length(bytes.length);
  let out = "";
  for (let k = len - 1; k >= 0; k--) {
    const b = k * 5;
    const i = b >> 3;
    const j = b & 7;
    const lo = (bytes[i] ?? 0) >> j;
    const hi = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << 8 - j : 0;
    out += NIX32_ALPHABET[(lo | hi) & 31];
  }
  return out;
}
function nix32Decode(text, byteLength) {
  const n = byteLength ?? Math.floor(text.length * 5 / 8);
  if (nix32Length(n) !== text.length) {
    throw new Error(`invalid nix32 string of length ${text.length}: expected ${nix32Length(n)} characters`);
  }
  const out = Buffer.alloc(n);
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(text.length - 1 - k);
    const digit = c < 128 ? DECODE[c] ?? -1 : -1;
    if (digit < 0) throw new Error(`invalid nix32 character ${JSON.stringify(text[text.length - 1 - k])}`);
    const b = k * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] = (out[i] ?? 0) | digit << j & 255;
    const carry = digit >> 8 - j;
    if (i + 1 < n) out[i + 1] = (out[i + 1] ?? 0) | carry;
    else if (carry)
      throw new Error(`invalid nix32 string ${JSON.stringify(text)}: value overflows ${n} bytes`);
  }
  return out;
}

// src/nix/hash.ts
var HASH_SIZES = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };
var HashParseError = class extends NixcacheError {
  constructor(message, options) {
    super("invalid", message, options);
  }
};
function isAlgo(s) {
  return s in HASH_SIZES;
}
function parseHash(text, defaultAlgo) {
  let algo;
  let rest;
  let sri = false;
  const colon = text.indexOf(":");
  const dash = text.indexOf("-");
  if (colon >= 0) {
    algo = text.slice(0, colon);
    rest = text.slice(colon + 1);
  } else if (dash >= 0 && isAlgo(text.slice(0, dash))) {
    algo = text.slice(0, dash);
    rest = text.slice(dash + 1);
    sri = true;
  } else {
    algo = defaultAlgo;
    rest = text;
  }
  if (algo === void 0)
    throw new HashParseError(`hash ${JSON.stringify(text)} does not name its algorithm`);
  if (!isAlgo(algo))
    throw new HashParseError(`unknown hash algorithm ${JSON.stringify(algo)} in ${JSON.stringify(text)}`);
  if (defaultAlgo && algo !== defaultAlgo) {
    throw new HashParseError(`expected a ${defaultAlgo} hash, got ${algo} in ${JSON.stringify(text)}`);
  }
  const size = HASH_SIZES[algo];
  const b64Len = 4 * Math.ceil(size / 3);
  let digest;
  if (sri) {
    digest = decodeBase64Strict(rest, size);
  } else if (rest.length === size * 2 && /^[0-9a-fA-F]+$/.test(rest)) {
    digest = Buffer.from(rest, "hex");
  } else if (rest.length === nix32Length(size)) {
    try {
      digest = nix32Decode(rest, size);
    } catch (e) {
      throw new HashParseError(`invalid ${algo} hash ${JSON.stringify(text)}: ${e.message}`);
    }
  } else if (rest.length === b64Len) {
    digest = decodeBase64Strict(rest, size);
  }
  if (!digest) {
    throw new HashParseError(
      `invalid ${algo} hash ${JSON.stringify(text)}: length ${rest.length} is not that of hex, nix32 or base64`
    );
  }
  return { algo, digest };
}
function decodeBase64Strict(text, size) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    throw new HashParseError(`invalid base64 in hash: ${JSON.stringify(text)}`);
  const buf = Buffer.from(text, "base64");
  if (buf.length !== size) {
    throw new HashParseError(
      `base64 hash ${JSON.stringify(text)} decodes to ${buf.length} bytes, expected ${size}`
    );
  }
  return buf;
}
function formatHashNix32(h) {
  return `${h.algo}:${nix32Encode(h.digest)}`;
}
function hashEquals(a, b) {
  return a.algo === b.algo && a.digest.equals(b.digest);
}

// src/nix/store-path.ts
var DEFAULT_STORE_DIR = "/nix/store";
var STORE_HASH_LENGTH = 32;
var MAX_NAME_LENGTH = 211;
var StorePathError = class extends NixcacheError {
  constructor(message, options) {
    super("invalid", message, options);
  }
};
var NAME_CHARS = /^[0-9a-zA-Z+\-._?=]+$/;
var HASH_RE = new RegExp(`^[${NIX32_ALPHABET}]{${STORE_HASH_LENGTH}}$`);
function isStoreHash(s) {
  return HASH_RE.test(s);
}
function checkStoreHash(s) {
  if (!isStoreHash(s)) throw new StorePathError(`${JSON.stringify(s)} is not a store path hash`);
  return s;
}
function validateStorePathName(name) {
  if (name.length === 0) throw new StorePathError("store path name is empty");
  if (name.length > MAX_NAME_LENGTH) {
    throw new StorePathError(`store path name is ${name.length} characters, longer than ${MAX_NAME_LENGTH}`);
  }
  if (name.startsWith("."))
    throw new StorePathError(`store path name ${JSON.stringify(name)} starts with a dot`);
  if (!NAME_CHARS.test(name)) {
    const bad = [...name].find((c) => !/[0-9a-zA-Z+\-._?=]/.test(c));
    throw new StorePathError(
      `store path name ${JSON.stringify(name)} contains the forbidden character ${JSON.stringify(bad)}`
    );
  }
  return name;
}
function parseStorePathBase(base, storeDir = DEFAULT_STORE_DIR) {
  if (base.length < STORE_HASH_LENGTH + 2 || base[STORE_HASH_LENGTH] !== "-") {
    throw new StorePathError(`${JSON.stringify(base)} is not a store path base name (<32-char hash>-<name>)`);
  }
  const hash = base.slice(0, STORE_HASH_LENGTH);
  if (!isStoreHash(hash)) {
    throw new StorePathError(
      `store path ${JSON.stringify(base)} has an invalid hash part ${JSON.stringify(hash)}`
    );
  }
  const name = validateStorePathName(base.slice(STORE_HASH_LENGTH + 1));
  return { storeDir, hash, name, base, path: `${storeDir}/${base}` };
}
function parseStorePath(path, storeDir = DEFAULT_STORE_DIR) {
  const prefix = `${storeDir}/`;
  if (!path.startsWith(prefix))
    throw new StorePathError(`path ${JSON.stringify(path)} is not in the Nix store ${storeDir}`);
  const base = path.slice(prefix.length);
  if (base.includes("/")) {
    throw new StorePathError(`path ${JSON.stringify(path)} is inside a store path, not a store path itself`);
  }
  return parseStorePathBase(base, storeDir);
}

// src/nix/narinfo.ts
var NarInfoError = class extends NixcacheError {
  constructor(message, options) {
    super("invalid", message, options);
  }
};
function buildNarInfo(path, file) {
  return {
    storePath: path.storePath,
    url: file.url,
    compression: file.compression,
    fileHash: file.fileHash,
    fileSize: file.fileSize,
    narHash: path.narHash,
    narSize: path.narSize,
    references: [...path.references].sort(),
    deriver: path.deriver,
    sigs: path.sigs,
    ca: path.ca,
    extra: []
  };
}
var MAX_NARINFO_SIZE = 1 << 20;
function parseContentAddress(ca) {
  const bad = (why) => new NarInfoError(
    `invalid content address ${JSON.stringify(ca)}: ${why} (expected text:sha256:<hash> or fixed:[r:]<algo>:<hash>)`
  );
  let hash;
  if (ca.startsWith("text:")) hash = ca.slice(5);
  else if (ca.startsWith("fixed:")) hash = ca.slice(ca.startsWith("fixed:r:") ? 8 : 6);
  else throw bad("unknown method");
  if (!/^[a-z0-9]+:/.test(hash)) throw bad("the hash does not name its algorithm");
  try {
    const h = parseHash(hash);
    if (ca.startsWith("text:") && h.algo !== "sha256") throw bad("text: addresses are sha256");
  } catch (e) {
    if (e instanceof HashParseError) throw bad(e.message);
    throw e;
  }
  return ca;
}
function parseNarInfo(text, storeDir = DEFAULT_STORE_DIR) {
  if (text.length > MAX_NARINFO_SIZE)
    throw new NarInfoError(`narinfo is ${text.length} bytes, over the limit of ${MAX_NARINFO_SIZE}`);
  if (text.length > 0 && !text.endsWith("\n")) throw new NarInfoError("narinfo does not end with a newline");
  const lines = text.split("\n");
  lines.pop();
  const out = {
    sigs: [],
    extra: [],
    references: []
  };
  const seen = /* @__PURE__ */ new Set();
  lines.forEach((line, idx) => {
    const where = `narinfo line ${idx + 1}`;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new NarInfoError(`${where}: expected "Key: Value", got ${JSON.stringify(line)}`);
    if (line[colon + 1] !== " ")
      throw new NarInfoError(`${where}: expected a space after "${line.slice(0, colon)}:"`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (key !== "Sig" && seen.has(key) && KNOWN.has(key))
      throw new NarInfoError(`${where}: duplicate ${key}`);
    seen.add(key);
    try {
      switch (key) {
        case "StorePath":
          out.storePath = parseStorePath(value, storeDir).path;
          break;
        case "URL":
          if (!value) throw new NarInfoError("empty URL");
          out.url = value;
          break;
        case "Compression":
          out.compression = value;
          break;
        case "FileHash":
          out.fileHash = parseHash(value);
          break;
        case "FileSize":
          out.fileSize = parseSize(value, key);
          break;
        case "NarHash":
          out.narHash = parseHash(value);
          break;
        case "NarSize":
          out.narSize = parseSize(value, key);
          break;
        case "References":
          out.references = value === "" ? [] : [...new Set(value.split(" ").map((r) => parseStorePathBase(r, storeDir).base))].sort();
          break;
        case "Deriver":
          out.deriver = value === "unknown-deriver" ? void 0 : parseStorePathBase(value, storeDir).base;
          break;
        case "System":
          out.system = value;
          break;
        case "Sig":
          out.sigs.push(value);
          break;
        case "CA":
          out.ca = parseContentAddress(value);
          break;
        default:
          out.extra.push([key, value]);
      }
    } catch (e) {
      if (e instanceof NarInfoError || e instanceof HashParseError || e instanceof StorePathError) {
        throw new NarInfoError(`${where} (${key}): ${e.message}`);
      }
      throw e;
    }
  });
  for (const required of ["StorePath", "URL", "NarHash", "NarSize"]) {
    if (!seen.has(required)) throw new NarInfoError(`narinfo lacks the required field ${required}`);
  }
  if (out.narSize === 0) throw new NarInfoError("narinfo has NarSize 0");
  out.compression ??= "bzip2";
  return out;
}
var KNOWN = /* @__PURE__ */ new Set([
  "StorePath",
  "URL",
  "Compression",
  "FileHash",
  "FileSize",
  "NarHash",
  "NarSize",
  "References",
  "Deriver",
  "System",
  "CA"
]);
function parseSize(value, key) {
  if (!/^[0-9]+$/.test(value))
    throw new NarInfoError(`${key} ${JSON.stringify(value)} is not a non-negative integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new NarInfoError(`${key} ${value} is too large`);
  return n;
}
function formatNarInfo(ni) {
  let s = `StorePath: ${ni.storePath}
URL: ${ni.url}
Compression: ${ni.compression}
`;
  if (ni.fileHash) s += `FileHash: ${formatHashNix32(ni.fileHash)}
`;
  if (ni.fileSize !== void 0) s += `FileSize: ${ni.fileSize}
`;
  s += `NarHash: ${formatHashNix32(ni.narHash)}
NarSize: ${ni.narSize}
`;
  s += `References: ${[...ni.references].sort().join(" ")}
`;
  if (ni.deriver) s += `Deriver: ${ni.deriver}
`;
  if (ni.system) s += `System: ${ni.system}
`;
  for (const sig of ni.sigs) s += `Sig: ${sig}
`;
  if (ni.ca) s += `CA: ${ni.ca}
`;
  for (const [k, v] of ni.extra) s += `${k}: ${v}
`;
  return s;
}
function narInfoFingerprint(ni, storeDir = DEFAULT_STORE_DIR) {
  if (ni.narHash.algo !== "sha256") throw new NarInfoError("only sha256 NAR hashes can be fingerprinted");
  const refs = [...new Set(ni.references)].map((r) => `${storeDir}/${r}`).sort();
  return `1;${ni.storePath};${formatHashNix32(ni.narHash)};${ni.narSize};${refs.join(",")}`;
}
function verifyNarInfo(ni, trusted, storeDir = DEFAULT_STORE_DIR) {
  const fp = narInfoFingerprint(ni, storeDir);
  const ok = [];
  for (const sig of ni.sigs) {
    const key = verifyDetached(fp, sig, trusted);
    if (key && !ok.includes(key.name)) ok.push(key.name);
  }
  return ok;
}

// src/nix/nar-encode.ts
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { open } from "node:fs/promises";

// src/nix/nar-decode.ts
var NAR_MAGIC = "nix-archive-1";
var te = new TextDecoder("utf-8");
var DOT = Buffer.from(".");
var DOTDOT = Buffer.from("..");

// src/nix/nar-encode.ts
var OUT_SIZE = 64 * 1024;
var DEFAULT_CHUNK = 1024 * 1024;
var TOKEN_ROOM = 8 * 1024;
var NarEncodeError = class extends NixcacheError {
  constructor(message, options) {
    super("failed", message, options);
  }
};
function encodeNar(fsPath, opts) {
  return encodeCore(fsPath, opts?.chunkSize ?? DEFAULT_CHUNK, false);
}
function encodeNarBorrowed(fsPath, opts) {
  return encodeCore(fsPath, opts?.chunkSize ?? DEFAULT_CHUNK, true);
}
var TokenWriter = class {
  constructor(reuse) {
    this.reuse = reuse;
    this.buf = Buffer.allocUnsafe(OUT_SIZE);
  }
  reuse;
  buf;
  start = 0;
  pos = 0;
  room() {
    return this.buf.length - this.pos;
  }
  pending() {
    return this.pos - this.start;
  }
  take() {
    const chunk = this.buf.subarray(this.start, this.pos);
    if (this.reuse) {
      this.start = this.pos = 0;
    } else if (this.room() < TOKEN_ROOM * 2) {
      this.buf = Buffer.allocUnsafe(OUT_SIZE);
      this.start = this.pos = 0;
    } else {
      this.start = this.pos;
    }
    return chunk;
  }
  u64(n) {
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(n / 4294967296), this.pos + 4);
    this.pos += 8;
  }
  /** Zero padding after `len` bytes of string or contents. */
  pad(len) {
    const p = (8 - len % 8) % 8;
    if (p) {
      this.buf.fill(0, this.pos, this.pos + p);
      this.pos += p;
    }
  }
  bytes(b) {
    this.u64(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.pad(b.length);
  }
  /** Pre-encoded tokens (length, bytes, padding) copied in one go. */
  raw(b) {
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
};
function tokens(...strs) {
  const parts = [];
  for (const s of strs) {
    const b = Buffer.from(s);
    const len = Buffer.alloc(8);
    len.writeUInt32LE(b.length, 0);
    parts.push(len, b, Buffer.alloc((8 - b.length % 8) % 8));
  }
  return Buffer.concat(parts);
}
var T_MAGIC = tokens(NAR_MAGIC);
var T_REGULAR = tokens("(", "type", "regular", "contents");
var T_EXECUTABLE = tokens("(", "type", "regular", "executable", "", "contents");
var T_SYMLINK = tokens("(", "type", "symlink", "target");
var T_DIRECTORY = tokens("(", "type", "directory");
var T_ENTRY = tokens("entry", "(", "name");
var T_NODE = tokens("node");
var T_CLOSE = tokens(")");
var SLASH = Buffer.from("/");
function childPath(dir, name) {
  return Buffer.concat([dir, SLASH, name]);
}
async function* encodeCore(fsPath, chunkSize, reuse) {
  if (!Number.isInteger(chunkSize) || chunkSize < 4096)
    throw new RangeError("chunkSize must be an integer ≥ 4096");
  const w = new TokenWriter(reuse);
  const big = reuse ? Buffer.allocUnsafe(chunkSize) : void 0;
  const probe = Buffer.allocUnsafe(1);
  const stack = [];
  w.raw(T_MAGIC);
  async function* node(path) {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      w.raw(T_DIRECTORY);
      const names = readdirSync(path, { encoding: "buffer" });
      names.sort(Buffer.compare);
      stack.push({ path, names, next: 0 });
      return;
    }
    if (st.isSymbolicLink()) {
      w.raw(T_SYMLINK);
      w.bytes(readlinkSync(path, { encoding: "buffer" }));
      w.raw(T_CLOSE);
      return;
    }
    if (!st.isFile()) throw new NarEncodeError(`file '${path.toString()}' has an unsupported type`);
    yield* file(path, st);
    w.raw(T_CLOSE);
  }
  async function* file(path, st) {
    const size = st.size;
    w.raw(st.mode & 64 ? T_EXECUTABLE : T_REGULAR);
    w.u64(size);
    if (size + TOKEN_ROOM <= w.room()) {
      const fd = openSync(path, "r");
      try {
        readSmallSync(fd, w.buf, w.pos, size, path);
      } finally {
        closeSync(fd);
      }
      w.pos += size;
      w.pad(size);
      return;
    }
    yield w.take();
    if (big) {
      const fd = openSync(path, "r");
      try {
        let left = size;
        while (left > 0) {
          const n = Math.min(left, big.length);
          readFullSync(fd, big, 0, n, path, size);
          left -= n;
          yield big.subarray(0, n);
        }
        checkEof(fd, probe, path, size);
      } finally {
        closeSync(fd);
      }
    } else {
      const fh = await open(path, "r");
      try {
        let left = size;
        while (left > 0) {
          const n = Math.min(left, chunkSize);
          const chunk = Buffer.allocUnsafe(n);
          await readFullAsync(fh, chunk, n, path, size);
          left -= n;
          yield chunk;
        }
        const { bytesRead } = await fh.read(probe, 0, 1, null);
        if (bytesRead !== 0) throw grew(path, size);
      } finally {
        await fh.close();
      }
    }
    w.pad(size);
  }
  yield* node(Buffer.from(fsPath));
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (w.room() < TOKEN_ROOM) yield w.take();
    if (top.next < top.names.length) {
      const name = top.names[top.next++];
      w.raw(T_ENTRY);
      w.bytes(name);
      w.raw(T_NODE);
      const depth = stack.length;
      yield* node(childPath(top.path, name));
      if (stack.length === depth) w.raw(T_CLOSE);
    } else {
      stack.pop();
      w.raw(T_CLOSE);
      if (stack.length > 0) w.raw(T_CLOSE);
    }
  }
  if (w.pending() > 0) yield w.take();
}
function shrank(path, size) {
  return new NarEncodeError(`file '${path.toString()}' shrank while being archived (expected ${size} bytes)`);
}
function grew(path, size) {
  return new NarEncodeError(`file '${path.toString()}' grew while being archived (expected ${size} bytes)`);
}
function readFullSync(fd, buf, offset, len, path, size) {
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, offset + done, len - done, null);
    if (n === 0) throw shrank(path, size);
    done += n;
  }
}
function readSmallSync(fd, buf, offset, size, path) {
  let done = 0;
  for (; ; ) {
    const want = size + 1 - done;
    const n = readSync(fd, buf, offset + done, want, null);
    if (n === 0) break;
    done += n;
    if (done > size) throw grew(path, size);
    if (done === size && n < want) break;
  }
  if (done < size) throw shrank(path, size);
}
function checkEof(fd, probe, path, size) {
  if (readSync(fd, probe, 0, 1, null) !== 0) throw grew(path, size);
}
async function readFullAsync(fh, buf, len, path, size) {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, null);
    if (bytesRead === 0) throw shrank(path, size);
    done += bytesRead;
  }
}

export {
  NixcacheError,
  errorCode,
  errorMessage,
  KeyFormatError,
  parseSecretKey,
  parsePublicKey,
  publicKeyOf,
  secretKeyFromSeed,
  signRaw,
  signDetached,
  NIX32_ALPHABET,
  nix32Encode,
  parseHash,
  formatHashNix32,
  hashEquals,
  DEFAULT_STORE_DIR,
  checkStoreHash,
  parseStorePathBase,
  parseStorePath,
  buildNarInfo,
  parseNarInfo,
  formatNarInfo,
  narInfoFingerprint,
  verifyNarInfo,
  encodeNar,
  encodeNarBorrowed
};
