import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  formatHashBase64,
  formatHashHex,
  formatHashNix32,
  formatHashSRI,
  hashBytes,
  hashEquals,
  parseHash,
} from "../../../src/nix/hash.js";
import {
  formatNarInfo,
  NarInfoError,
  narInfoFingerprint,
  parseNarInfo,
  signNarInfo,
  verifyNarInfo,
} from "../../../src/nix/narinfo.js";
import { nix32Decode, nix32Encode } from "../../../src/nix/nix32.js";
import {
  formatSecretKey,
  generateSecretKey,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
} from "../../../src/nix/signing.js";
import {
  makeFixedOutputPath,
  makeTextPath,
  parseStorePath,
  StorePathError,
} from "../../../src/nix/store-path.js";
import { runCli } from "../../helpers/cli.js";
import { buildTrivial, nixSync, requireNix, tempDir } from "../../helpers/nix.js";

describe("nix32", () => {
  test("matches the PROTOCOLS.md vector", () => {
    assert.equal(
      nix32Encode(hashBytes("sha256", "abc").digest),
      "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s",
    );
  });
  test("round-trips random data of every length", () => {
    for (let n = 1; n <= 70; n++) {
      const b = randomBytes(n);
      assert.deepEqual(nix32Decode(nix32Encode(b), n), b);
    }
  });
  test("rejects characters outside the alphabet and values that overflow", () => {
    assert.throws(() => nix32Decode("e".repeat(52), 32), /invalid nix32 character "e"/);
    assert.throws(() => nix32Decode("z".repeat(52), 32), /overflows/);
    assert.throws(() => nix32Decode("abc", 32), /expected 52 characters/);
  });
  test("agrees with nix hash to-base32", () => {
    requireNix();
    const hex = randomBytes(32).toString("hex");
    const nix = nixSync("nix", ["hash", "to-base32", "--type", "sha256", hex]).toString().trim();
    assert.equal(nix32Encode(Buffer.from(hex, "hex")), nix);
  });
});

describe("hashes", () => {
  const h = hashBytes("sha256", "hello");
  test("every textual form parses to the same digest", () => {
    for (const form of [formatHashNix32(h), formatHashHex(h), formatHashBase64(h), formatHashSRI(h)]) {
      assert.ok(hashEquals(parseHash(form), h), form);
    }
    assert.ok(hashEquals(parseHash(formatHashHex(h, false), "sha256"), h));
  });
  test("bad hashes fail with a message that names the problem", () => {
    assert.throws(() => parseHash("sha256:abc"), /length 3 is not that of hex, nix32 or base64/);
    assert.throws(() => parseHash("sha999:abc"), /unknown hash algorithm "sha999"/);
    assert.throws(() => parseHash("abcdef"), /does not name its algorithm/);
    assert.throws(
      () => parseHash(formatHashNix32(hashBytes("sha1", "x")), "sha256"),
      /expected a sha256 hash/,
    );
    assert.throws(() => parseHash("sha256-AAAA"), /decodes to 3 bytes, expected 32/);
  });
});

describe("store paths", () => {
  test("parse and validate with errors that say what is wrong", () => {
    const p = parseStorePath("/nix/store/hp4xhizqijy1k440fq06xfq6xpl37pf6-h.txt");
    assert.equal(p.hash, "hp4xhizqijy1k440fq06xfq6xpl37pf6");
    assert.equal(p.name, "h.txt");
    assert.throws(() => parseStorePath("/usr/bin/x"), /not in the Nix store/);
    assert.throws(
      () => parseStorePath("/nix/store/hp4xhizqijy1k440fq06xfq6xpl37pf6-h.txt/bin"),
      /inside a store path/,
    );
    assert.throws(() => parseStorePath("/nix/store/hp4xhizqijy1k440fq06xfq6xpl37pfe-h"), /invalid hash part/);
    assert.throws(
      () => parseStorePath("/nix/store/hp4xhizqijy1k440fq06xfq6xpl37pf6-a b"),
      /forbidden character " "/,
    );
    assert.throws(
      () => parseStorePath("/nix/store/hp4xhizqijy1k440fq06xfq6xpl37pf6-.x"),
      /starts with a dot/,
    );
    assert.throws(
      () => parseStorePath(`/nix/store/hp4xhizqijy1k440fq06xfq6xpl37pf6-${"a".repeat(212)}`),
      StorePathError,
    );
  });

  test("text and fixed-output paths are computed as Nix computes them", () => {
    requireNix();
    const t = tempDir();
    try {
      for (const name of ["hello.txt", "a+b-c_d.e?f=g", "x".repeat(211)]) {
        const contents = `contents of ${name.slice(0, 20)}\n`;
        const nixPath = nixSync("nix", [
          "eval",
          "--raw",
          "--expr",
          `builtins.toFile "${name}" "${contents.replace("\n", "\\n")}"`,
        ]).toString();
        assert.equal(makeTextPath(hashBytes("sha256", contents), name).path, nixPath);
      }
      const file = join(t.path, "data.bin");
      writeFileSync(file, randomBytes(1000));
      const flat = nixSync("nix-store", ["--add-fixed", "sha256", file]).toString().trim();
      assert.equal(
        makeFixedOutputPath({
          recursive: false,
          hash: hashBytes("sha256", readFileSync(file)),
          name: "data.bin",
        }).path,
        flat,
      );
      const sha1 = nixSync("nix-store", ["--add-fixed", "sha1", file]).toString().trim();
      assert.equal(
        makeFixedOutputPath({
          recursive: false,
          hash: hashBytes("sha1", readFileSync(file)),
          name: "data.bin",
        }).path,
        sha1,
      );
      const rec = nixSync("nix-store", ["--add-fixed", "--recursive", "sha256", file]).toString().trim();
      const narHash = parseHash(
        nixSync("nix-hash", ["--type", "sha256", "--base32", file]).toString().trim(),
        "sha256",
      );
      assert.equal(makeFixedOutputPath({ recursive: true, hash: narHash, name: "data.bin" }).path, rec);
    } finally {
      t.cleanup();
    }
  });

  test("names Nix refuses are refused by us too", () => {
    requireNix();
    for (const name of ["a b", "x".repeat(212), "é", "a/b", ""]) {
      assert.throws(() => nixSync("nix", ["eval", "--raw", "--expr", `builtins.toFile "${name}" "x"`]));
      assert.throws(() => makeTextPath(hashBytes("sha256", "x"), name), StorePathError, name);
    }
  });
});

describe("narinfo and signatures against real Nix", () => {
  const t = tempDir();
  let storePath = "";
  let nixNarInfo = "";
  let sk = "";
  let pk = "";
  before(() => {
    requireNix();
    // An input-addressed path: content-addressed ones are trusted by Nix without any signature.
    storePath = buildTrivial(`format-test-${Date.now()}`);
    nixSync("nix-store", [
      "--generate-binary-cache-key",
      "test-key-1",
      join(t.path, "sk"),
      join(t.path, "pk"),
    ]);
    sk = readFileSync(join(t.path, "sk"), "utf8");
    pk = readFileSync(join(t.path, "pk"), "utf8");
    nixSync("nix", [
      "copy",
      "--to",
      `file://${t.path}/cache?secret-key=${t.path}/sk&compression=zstd`,
      storePath,
    ]);
    const hash = parseStorePath(storePath).hash;
    nixNarInfo = readFileSync(join(t.path, "cache", `${hash}.narinfo`), "utf8");
  });
  after(() => t.cleanup());

  test("a narinfo written by Nix parses and is written back byte for byte", () => {
    const ni = parseNarInfo(nixNarInfo);
    assert.equal(ni.storePath, storePath);
    assert.equal(ni.compression, "zstd");
    assert.equal(formatNarInfo(ni), nixNarInfo);
  });

  test("Nix's signature verifies with our code; ours equals Nix's (ed25519 is deterministic)", () => {
    const ni = parseNarInfo(nixNarInfo);
    assert.deepEqual(verifyNarInfo(ni, [parsePublicKey(pk)]), ["test-key-1"]);
    const ours = signNarInfo({ ...ni, sigs: [] }, parseSecretKey(sk));
    assert.deepEqual(ours.sigs, ni.sigs);
  });

  test("a signature by our generated key verifies in Nix", () => {
    const key = generateSecretKey("ours-1");
    writeFileSync(join(t.path, "our-sk"), formatSecretKey(key));
    // nix store sign with our secret file, then Nix's own verifier with our public key.
    nixSync("nix", ["store", "sign", "--key-file", join(t.path, "our-sk"), storePath]);
    const pub = `${key.name}:${publicKeyOf(key).key.toString("base64")}`;
    nixSync("nix", ["store", "verify", "--no-contents", "--trusted-public-keys", pub, storePath]);
    // And the signature Nix made with our key matches what we compute.
    const info = JSON.parse(nixSync("nix", ["path-info", "--json", "--sigs", storePath]).toString())[0];
    const ni = parseNarInfo(nixNarInfo);
    const mine = signNarInfo({ ...ni, sigs: [] }, key).sigs[0];
    assert.ok((info.signatures as string[]).includes(mine as string));
  });

  test("a narinfo signed only by our code passes Nix's substitution check", () => {
    const ni = parseNarInfo(nixNarInfo);
    const key = generateSecretKey("ours-2");
    const signed = signNarInfo({ ...ni, sigs: [] }, key);
    const hash = parseStorePath(storePath).hash;
    writeFileSync(join(t.path, "cache", `${hash}.narinfo`), formatNarInfo(signed));
    const pub = `${key.name}:${publicKeyOf(key).key.toString("base64")}`;
    nixSync("nix", [
      "store",
      "verify",
      "--store",
      `file://${t.path}/cache`,
      "--trusted-public-keys",
      pub,
      storePath,
    ]);
    assert.throws(() =>
      nixSync("nix", [
        "store",
        "verify",
        "--store",
        `file://${t.path}/cache`,
        "--trusted-public-keys",
        pk,
        storePath,
      ]),
    );
    writeFileSync(join(t.path, "cache", `${hash}.narinfo`), nixNarInfo);
  });

  test("fingerprint has the documented shape", () => {
    const ni = parseNarInfo(nixNarInfo);
    assert.equal(narInfoFingerprint(ni), `1;${storePath};${formatHashNix32(ni.narHash)};${ni.narSize};`);
  });
});

describe("narinfo parsing rejects corrupt input", () => {
  const good =
    "StorePath: /nix/store/hp4xhizqijy1k440fq06xfq6xpl37pf6-h.txt\nURL: nar/x.nar\nCompression: none\n" +
    "NarHash: sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw\nNarSize: 120\nReferences: \n";
  test("a good one parses, keeping unknown keys and defaulting Compression to bzip2", () => {
    const ni = parseNarInfo(`${good}Foo: bar\n`);
    assert.deepEqual(ni.extra, [["Foo", "bar"]]);
    assert.equal(parseNarInfo(good.replace("Compression: none\n", "")).compression, "bzip2");
    assert.equal(formatNarInfo(ni), `${good}Foo: bar\n`);
  });
  const cases: Array<[string, string, RegExp]> = [
    ["no final newline", good.slice(0, -1), /does not end with a newline/],
    ["missing NarHash", good.replace(/NarHash.*\n/, ""), /lacks the required field NarHash/],
    ["missing StorePath", good.replace(/StorePath.*\n/, ""), /lacks the required field StorePath/],
    ["bad hash", good.replace("04zwf", "eeeee"), /line 4 \(NarHash\).*invalid nix32 character/],
    ["bad size", good.replace("NarSize: 120", "NarSize: -1"), /line 5 \(NarSize\): NarSize "-1"/],
    ["zero size", good.replace("NarSize: 120", "NarSize: 0"), /NarSize 0/],
    ["bad path", good.replace("/nix/store/", "/tmp/"), /line 1 \(StorePath\).*not in the Nix store/],
    ["bad reference", good.replace("References: ", "References: ../etc"), /line 6 \(References\)/],
    ["no space", good.replace("URL: ", "URL:"), /line 2: expected a space after "URL:"/],
    ["garbage line", `${good}garbage\n`, /line 7: expected "Key: Value"/],
    ["duplicate", `${good}NarSize: 5\n`, /line 7: duplicate NarSize/],
  ];
  for (const [what, text, re] of cases) {
    test(what, () =>
      assert.throws(
        () => parseNarInfo(text),
        (e: Error) => e instanceof NarInfoError && re.test(e.message),
      ),
    );
  }
});

describe("CLI: key generate and narinfo verify", () => {
  const t = tempDir();
  after(() => t.cleanup());
  test("key generate writes files Nix accepts, the secret mode 0600", async () => {
    requireNix();
    const r = await runCli([
      "key",
      "generate",
      "cli-1",
      "--secret",
      join(t.path, "sk"),
      "--public",
      join(t.path, "pk"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pk = readFileSync(join(t.path, "pk"), "utf8");
    assert.equal(r.stdout, `${pk}\n`);
    assert.match(pk, /^cli-1:[A-Za-z0-9+/]{43}=$/);
    assert.equal(statSync(join(t.path, "sk")).mode & 0o777, 0o600);
    assert.ok(!r.stdout.includes(readFileSync(join(t.path, "sk"), "utf8").split(":")[1] as string));
    // Nix signs with our secret file and verifies with our public file.
    const sp = buildTrivial(`cli-key-test-${Date.now()}`);
    nixSync("nix", ["store", "sign", "--key-file", join(t.path, "sk"), sp]);
    nixSync("nix", ["store", "verify", "--no-contents", "--trusted-public-keys", pk, sp]);
    // Nix's copy signed with our key verifies with `narinfo verify`.
    nixSync("nix", ["copy", "--to", `file://${t.path}/c?secret-key=${t.path}/sk`, sp]);
    const nf = join(t.path, "c", `${parseStorePath(sp).hash}.narinfo`);
    const ok = await runCli(["narinfo", "verify", nf, "--trusted-key", pk]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /signed by cli-1/);
    const viaFile = await runCli(["narinfo", "verify", "-", "--trusted-key", join(t.path, "pk"), "--json"], {
      input: readFileSync(nf),
    });
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.equal(JSON.parse(viaFile.stdout).valid, true);
    // Any other key: exit 1.
    const other = generateSecretKey("other-1");
    const bad = await runCli([
      "narinfo",
      "verify",
      nf,
      "--trusted-key",
      `other-1:${other.publicKey.toString("base64")}`,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /no valid signature from a trusted key \(signatures by: cli-1\)/);
    // Same name, wrong key material: exit 1.
    const fake = generateSecretKey("cli-1");
    const impostor = await runCli([
      "narinfo",
      "verify",
      nf,
      "--trusted-key",
      `cli-1:${fake.publicKey.toString("base64")}`,
    ]);
    assert.equal(impostor.code, 1);
  });

  test("key generate refuses to overwrite, and bad input exits 2 with a clear message", async () => {
    const again = await runCli([
      "key",
      "generate",
      "cli-1",
      "--secret",
      join(t.path, "sk"),
      "--public",
      join(t.path, "pk2"),
    ]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already exists; pass --force/);
    writeFileSync(join(t.path, "corrupt.narinfo"), "StorePath: /nix/store/x\n");
    const corrupt = await runCli([
      "narinfo",
      "verify",
      join(t.path, "corrupt.narinfo"),
      "--trusted-key",
      "a:AAAA",
    ]);
    assert.equal(corrupt.code, 2);
    assert.match(corrupt.stderr, /public key "a" holds 3 bytes, expected 32/);
    const badNi = await runCli([
      "narinfo",
      "verify",
      join(t.path, "corrupt.narinfo"),
      "--trusted-key",
      `x:${generateSecretKey("x").publicKey.toString("base64")}`,
    ]);
    assert.equal(badNi.code, 2);
    assert.match(badNi.stderr, /corrupt.narinfo: narinfo line 1 \(StorePath\)/);
  });
});
