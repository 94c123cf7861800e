// The checks of `nixcache doctor`, each a function from what was gathered to data: a substituter
// or key verdict, and the findings (a fix in words, with the file edits when the fix is one).
// Nothing here prints; `runDoctor` gathers and calls these; `migrate` may call them on its own.
import type { NarInfo } from "../nix/narinfo.js";
import { verifyNarInfo } from "../nix/narinfo.js";
import { KeyFormatError, type PublicKey, parsePublicKey } from "../nix/signing.js";
import { describeEdit, type EditOp, type FileEdit, opValue, planEdits } from "./edits.js";
import type { DeadCost, ProbeResult } from "./probe.js";

/** Where a setting came from: the flake's `nixConfig` or the local Nix configuration. */
export type ConfigSource = "flake" | "nix.conf";

export interface SubstituterCheck extends ProbeResult {
  sources: ConfigSource[];
  /** For a dead cache: what it costs every Nix invocation. */
  cost?: DeadCost;
  /** narinfos fetched from this cache to check signatures against. */
  samples: number;
  /** Key names the sampled narinfos are signed with. */
  signedBy: string[];
  /** Trusted keys that verified a sample; null when nothing could be sampled. */
  trustedBy: string[] | null;
}

export type KeyStatus = "ok" | "invalid" | "wrong" | "no-cache" | "unchecked";

export interface KeyCheck {
  key: string;
  status: KeyStatus;
  reason: string;
  /** The key's name, when it parses. */
  name: string | null;
  sources: ConfigSource[];
  /** Caches whose sampled narinfos it verified. */
  caches: string[];
}

/**
 * Something to fix: the sentence a user reads, and the changes to flake.nix it amounts to (maybe
 * none). `edits` are those changes alone; a report plans all findings' `ops` together, as two
 * findings may touch one line.
 */
export interface Finding {
  fix: string;
  ops: EditOp[];
  edits: FileEdit[];
}

/** A sampled narinfo of one cache. */
export interface Sample {
  cache: string;
  narInfo: NarInfo;
}

/** A cache's name for its key: `cache.garnix.io-1` and `cache.garnix.io` both name host `cache.garnix.io`. */
export function keyNameHost(name: string): string {
  return name.replace(/-[0-9]+$/, "");
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Parses each key text; the invalid ones are kept with their reason. */
export function parseKeys(
  keys: ReadonlyArray<{ key: string; sources: ConfigSource[] }>,
): Array<{ key: string; sources: ConfigSource[]; parsed?: PublicKey; error?: string }> {
  return keys.map((k) => {
    try {
      return { ...k, parsed: parsePublicKey(k.key) };
    } catch (e) {
      if (e instanceof KeyFormatError) return { ...k, error: e.message };
      throw e;
    }
  });
}

/** Signature facts of one cache's samples against the trusted keys. */
export function signatureFacts(
  samples: readonly Sample[],
  trusted: readonly PublicKey[],
): { signedBy: string[]; trustedBy: string[] | null } {
  if (samples.length === 0) return { signedBy: [], trustedBy: null };
  const signedBy = new Set<string>();
  const trustedBy = new Set<string>();
  for (const s of samples) {
    for (const sig of s.narInfo.sigs) signedBy.add(sig.slice(0, Math.max(0, sig.indexOf(":"))));
    for (const n of verifyNarInfo(s.narInfo, trusted)) trustedBy.add(n);
  }
  signedBy.delete("");
  return { signedBy: [...signedBy].sort(), trustedBy: [...trustedBy].sort() };
}

/**
 * One key's verdict: malformed; verifying what a cache serves; carrying a cache's key name but
 * not its key (the narinfos say `name:` and this key does not verify them); or matched to no
 * cache that was sampled.
 */
export function checkKey(
  k: { key: string; sources: ConfigSource[]; parsed?: PublicKey; error?: string },
  samples: readonly Sample[],
  substituters: readonly SubstituterCheck[],
): KeyCheck {
  const base = { key: k.key, sources: k.sources, name: k.parsed?.name ?? null, caches: [] as string[] };
  if (!k.parsed) return { ...base, status: "invalid", reason: k.error ?? "malformed" };
  const key = k.parsed;
  const verified = new Set<string>();
  const misnamed = new Set<string>();
  for (const s of samples) {
    if (verifyNarInfo(s.narInfo, [key]).length > 0) verified.add(s.cache);
    else if (s.narInfo.sigs.some((sig) => sig.startsWith(`${key.name}:`))) misnamed.add(s.cache);
  }
  if (verified.size > 0)
    return {
      ...base,
      caches: [...verified],
      status: "ok",
      reason: `verifies the narinfos ${[...verified].join(", ")} serves`,
    };
  if (misnamed.size > 0)
    return {
      ...base,
      caches: [...misnamed],
      status: "wrong",
      reason: `${[...misnamed].join(", ")} signs as ${key.name}, but this key does not verify those signatures: it is not that cache's public key`,
    };
  const host = keyNameHost(key.name);
  const named = substituters.find((s) => hostOf(s.url) === host);
  if (named && (named.status === "dead" || named.status === "invalid"))
    return { ...base, status: "no-cache", reason: `its cache ${named.url} is ${named.status}` };
  const sampled = substituters.filter((s) => s.samples > 0);
  if (named === undefined && sampled.length > 0 && k.sources.includes("flake"))
    return {
      ...base,
      status: "no-cache",
      reason: `no configured substituter serves narinfos signed by ${key.name} (sampled: ${sampled.map((s) => s.url).join(", ")})`,
    };
  return { ...base, status: "unchecked", reason: "no narinfo signed with this name could be sampled" };
}

const sentence = (s: string) => s.replace(/\.$/, "");

/** The edits to flake.nix for `ops`, and the sentence saying them (where an op's value is not written literally, says so). */
function flakeEdits(
  flakeFile: { name: string; text: string } | null,
  ops: readonly EditOp[],
): { ops: EditOp[]; edits: FileEdit[]; words: string } {
  if (!flakeFile)
    return {
      ops: [...ops],
      edits: [],
      words: `change ${ops.map(opValue).join(", ")} in the flake's nixConfig`,
    };
  const edits = planEdits(flakeFile.text, flakeFile.name, ops);
  const found = new Set(edits.flatMap((e) => e.values));
  const lost = ops.map(opValue).filter((v) => !found.has(v));
  const words = [
    ...edits.map(describeEdit),
    ...lost.map((v) => `change ${v} in nixConfig of ${flakeFile.name} (it is not written literally there)`),
  ].join("; ");
  return { ops: [...ops], edits, words };
}

/** Findings about substituters: dead ones (with cost and edit), invalid ones, ones no trusted key signs. */
export function substituterFindings(
  subs: readonly SubstituterCheck[],
  keys: readonly KeyCheck[],
  flakeFile: { name: string; text: string } | null,
  knownKeys: ReadonlyMap<string, string[]> = new Map(),
): Finding[] {
  const out: Finding[] = [];
  for (const s of subs) {
    if (s.status === "dead" || s.status === "invalid") {
      const what = s.status === "dead" ? "dead substituter" : "substituter that is not a usable cache";
      const cost = s.cost ? `; it costs ${s.cost.text}` : "";
      const parts: string[] = [];
      let change: { ops: EditOp[]; edits: FileEdit[] } = { ops: [], edits: [] };
      if (s.sources.includes("flake")) {
        // The cache's own keys go with it (by name), unless they verify another cache.
        const host = hostOf(s.url);
        const ownKeys = keys
          .filter((k) => k.sources.includes("flake") && k.name && keyNameHost(k.name) === host)
          .filter((k) => k.status !== "ok")
          .map((k) => k.key);
        const e = flakeEdits(
          flakeFile,
          [s.url, ...ownKeys].map((remove) => ({ remove })),
        );
        change = e;
        parts.push(e.words);
      }
      if (s.sources.includes("nix.conf"))
        parts.push(
          "remove it from `substituters` in nix.conf (/etc/nix/nix.conf, ~/.config/nix/nix.conf or NIX_CONFIG)",
        );
      out.push({ fix: `${what} ${s.url} (${sentence(s.reason)}${cost}): ${parts.join("; ")}`, ...change });
      continue;
    }
    if (s.trustedBy !== null && s.trustedBy.length === 0) {
      const real = knownKeys.get(s.url);
      const signed =
        s.signedBy.length > 0
          ? `its narinfos are signed by ${s.signedBy.join(", ")}`
          : "its narinfos are unsigned";
      const add = real?.length
        ? `add ${real.join(" ")} to nixConfig.extra-trusted-public-keys`
        : s.signedBy.length > 0
          ? "add its public key to nixConfig.extra-trusted-public-keys"
          : "sign what it serves (a key on the server, or `nix copy --to URL?secret-key=...`)";
      out.push({
        fix: `no trusted key signs what ${s.url} serves (${signed}), so Nix refuses every path from it: ${add}`,
        ops: [],
        edits: [],
      });
    }
  }
  return out;
}

/** Findings about keys: malformed, wrong (with the right key when the cache publishes it), orphaned. */
export function keyFindings(
  keys: readonly KeyCheck[],
  subs: readonly SubstituterCheck[],
  flakeFile: { name: string; text: string } | null,
  knownKeys: ReadonlyMap<string, string[]> = new Map(),
): Finding[] {
  const out: Finding[] = [];
  const removedWithCache = new Set(
    subs
      .filter((s) => s.status === "dead" || s.status === "invalid")
      .map((s) => hostOf(s.url))
      .filter(Boolean),
  );
  for (const k of keys) {
    if (!k.sources.includes("flake")) continue;
    if (k.status === "invalid") {
      const e = flakeEdits(flakeFile, [{ remove: k.key }]);
      out.push({
        fix: `malformed trusted public key (${sentence(k.reason)}): ${e.words}`,
        ops: e.ops,
        edits: e.edits,
      });
    } else if (k.status === "wrong") {
      const real = k.caches.flatMap((c) => knownKeys.get(c) ?? []).find((r) => r.startsWith(`${k.name}:`));
      const where = k.caches.join(", ");
      if (real) {
        const e = flakeEdits(flakeFile, [{ replace: k.key, with: real }]);
        out.push({
          fix: `wrong key for ${where} (${sentence(k.reason)}): ${e.words}`,
          ops: e.ops,
          edits: e.edits,
        });
      } else {
        out.push({
          fix: `wrong key for ${where} (${sentence(k.reason)}): replace ${k.key} with the cache's public key`,
          ops: [],
          edits: [],
        });
      }
    } else if (k.status === "no-cache" && !(k.name && removedWithCache.has(keyNameHost(k.name)))) {
      const e = flakeEdits(flakeFile, [{ remove: k.key }]);
      out.push({
        fix: `trusted key with no cache (${sentence(k.reason)}): add its cache to extra-substituters, or ${e.words}`,
        ops: e.ops,
        edits: e.edits,
      });
    }
  }
  return out;
}

/** Would Nix apply the flake's nixConfig for this user at all? */
export interface FlakeConfigTrust {
  user: string;
  /** `accept-flake-config` is set. */
  acceptFlakeConfig: boolean;
  /** Root, or named (directly, by group, or `*`) in `trusted-users`. */
  trustedUser: boolean;
  /** Substituters an untrusted user may still use (`trusted-substituters`). */
  trustedSubstituters: string[];
}

/**
 * `storeSaid`: how the store's own answer was obtained (`nix store info` says Trusted...), when
 * the verdict is the store's rather than read from `trusted-users`.
 */
export function flakeConfigFindings(
  t: FlakeConfigTrust,
  flakeSubstituters: readonly string[],
  hasFlakeSettings: boolean,
  storeSaid?: string,
): Finding[] {
  if (!hasFlakeSettings) return [];
  const out: Finding[] = [];
  if (!t.acceptFlakeConfig)
    out.push({
      fix: "Nix does not apply this flake's nixConfig (it asks on a terminal and ignores it elsewhere, e.g. in CI): set `accept-flake-config = true` in nix.conf, or pass --accept-flake-config",
      ops: [],
      edits: [],
    });
  if (!t.trustedUser) {
    const blocked = flakeSubstituters.filter((s) => !t.trustedSubstituters.includes(s));
    if (blocked.length > 0)
      out.push({
        fix:
          `${t.user} is not a trusted user, so Nix ignores the flake's substituters ${blocked.join(", ")}: add them to \`trusted-substituters\` (or ${t.user} to \`trusted-users\`) in /etc/nix/nix.conf` +
          (storeSaid
            ? ` and restart the daemon (${storeSaid}: 0; the daemon drops untrusted substituters without an error, so builds silently compile instead of substituting)`
            : ""),
        ops: [],
        edits: [],
      });
  }
  return out;
}
