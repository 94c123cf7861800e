// Which Nix this is, and what it accepts and prints (pure: no I/O; nix-command.ts asks `nix
// --version` once per process and uses these tables).
//
// Three implementations answer to `nix`: Nix ("nix (Nix) 2.35.2"), Lix ("nix (Lix, like Nix)
// 2.93.0", a fork of Nix 2.18 whose version numbers continue from 2.90) and Determinate Nix
// ("nix (Determinate Nix 3.15.1) 2.33.0": Nix with its own release on top; its CLI follows the
// Nix version after the parenthesis). Each table below names the release notes or source it
// comes from; docs/guide/nix-versions.md shows them as one table.

export type NixImplementation = "nix" | "lix" | "determinate";

export type Version = readonly [number, number, number];

export interface NixVersion {
  implementation: NixImplementation;
  /** The Nix version (for Lix, Lix's own: 2.90 and later). */
  version: Version;
  /** Determinate Nix's own release (3.x.y), beside the Nix version it carries. */
  determinate?: Version;
  /** The first line of `nix --version`, as printed. */
  text: string;
}

const NUM = "([0-9]+)\\.([0-9]+)(?:\\.([0-9]+))?";
const VERSION_LINE = new RegExp(`^\\S+ \\((Nix|Lix, like Nix|Determinate Nix ${NUM}[^)]*)\\) ${NUM}`);

const triple = (a?: string, b?: string, c?: string): Version => [Number(a), Number(b), Number(c ?? 0)];

/**
 * Parses the first line of `nix --version` (also `nix-store --version`). Undefined when the line
 * names no implementation we know or no version: the caller then tries newer forms first.
 */
export function parseNixVersion(text: string): NixVersion | undefined {
  const line = text.split("\n")[0]?.trim() ?? "";
  const m = VERSION_LINE.exec(line);
  if (!m) return undefined;
  const version = triple(m[5], m[6], m[7]);
  if (m[1] === "Nix") return { implementation: "nix", version, text: line };
  if (m[1] === "Lix, like Nix") return { implementation: "lix", version, text: line };
  return { implementation: "determinate", version, determinate: triple(m[2], m[3], m[4]), text: line };
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++)
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) - (b[i] as number);
  return 0;
}

const atLeast = (v: Version, maj: number, min: number, patch = 0) =>
  compareVersions(v, [maj, min, patch]) >= 0;

/** Nix or Determinate Nix (whose CLI is that of the Nix version it carries) at least `maj.min`. */
function nixAtLeast(v: NixVersion, maj: number, min: number, patch = 0): boolean {
  return v.implementation !== "lix" && atLeast(v.version, maj, min, patch);
}

/** "Nix 2.35.2", "Lix 2.93.0", "Determinate Nix 3.15.1 (Nix 2.33.0)". */
export function describeNix(v: NixVersion): string {
  const s = v.version.join(".");
  if (v.implementation === "lix") return `Lix ${s}`;
  if (v.implementation === "determinate")
    return `Determinate Nix ${(v.determinate ?? [0, 0, 0]).join(".")} (Nix ${s})`;
  return `Nix ${s}`;
}

/**
 * The oldest Nix nixcache is tested with (Debian's 2.8, real); older ones lack flakes as nixcache
 * evaluates them (`builtins.getFlake` under `nix eval --impure`).
 */
export const OLDEST_TESTED: Version = [2, 8, 0];

export function olderThanTested(v: NixVersion): boolean {
  return v.implementation !== "lix" && !atLeast(v.version, ...OLDEST_TESTED);
}

// ---- How each asks: the forms of a command, newest first. A known version gets one form; an
// unknown one (undefined) gets every form, tried in order while the Nix answers with a usage error.

/**
 * `nix path-info` flags for JSON. Nix 2.33 added `--json-format 1|2` and warns without it ("This
 * will become an error in a future release", src/nix/path-info.cc); 2.35 added format 3
 * (structured signatures, rl-2.35 "Structured signature"). The newest format a version has is
 * asked for: older formats are the ones a future release drops first. Lix has no such flag.
 */
export function pathInfoJsonForms(v: NixVersion | undefined): string[][] {
  if (v === undefined) return [["--json", "--json-format", "2"], ["--json"]];
  if (nixAtLeast(v, 2, 35)) return [["--json", "--json-format", "3"]];
  if (nixAtLeast(v, 2, 33)) return [["--json", "--json-format", "2"]];
  return [["--json"]];
}

/**
 * The subcommand printing the configuration. `nix show-config` became `nix config show` in Nix
 * 2.20 (rl-2.20), the old name a deprecated alias that warns (src/nix/main.cc); Lix has both
 * since its first release (2.90) and warns on the alias too.
 */
export function configShowForms(v: NixVersion | undefined): string[][] {
  if (v === undefined) return [["config", "show"], ["show-config"]];
  if (v.implementation === "lix" || nixAtLeast(v, 2, 20)) return [["config", "show"]];
  return [["show-config"]];
}

/**
 * The subcommand printing derivations as JSON: `nix show-derivation` became `nix derivation show`
 * in Nix 2.15 (rl-2.15), the old name a deprecated alias from then on; Lix has the new name.
 */
export function derivationShowForms(v: NixVersion | undefined): string[][] {
  if (v === undefined) return [["derivation", "show"], ["show-derivation"]];
  if (v.implementation === "lix" || nixAtLeast(v, 2, 15)) return [["derivation", "show"]];
  return [["show-derivation"]];
}

/**
 * The subcommand that says whether the store (the daemon) trusts this user: `nix store ping
 * --json` has `trusted` from Nix 2.15 (Store::isTrustedClient); 2.20 renamed it `nix store info`
 * (ping a deprecated alias). Lix keeps `nix store ping`. Null: this Nix cannot say.
 */
export function storeTrustForms(v: NixVersion | undefined): string[][] | null {
  if (v === undefined)
    return [
      ["store", "info"],
      ["store", "ping"],
    ];
  if (v.implementation === "lix") return [["store", "ping"]];
  if (nixAtLeast(v, 2, 20)) return [["store", "info"]];
  if (nixAtLeast(v, 2, 15)) return [["store", "ping"]];
  return null;
}

// ---- Nix's narinfo disk cache ($XDG_CACHE_HOME/nix/binary-cache-vN.sqlite).

/**
 * The file name of Nix's narinfo disk cache. Nix bumped it to v7 in 2.31 ("Bump the version of
 * the SQLite caches", WAL mode) and to v8 in 2.35 (a BuildTrace table); Determinate Nix did so in
 * its own releases 3.8.6 and 3.16.0; Lix keeps v6. The NARs and BinaryCaches tables are the same.
 */
export function narinfoDiskCacheName(v: NixVersion | undefined): string {
  let n = 6;
  if (v?.implementation === "determinate" && v.determinate) {
    if (atLeast(v.determinate, 3, 16)) n = 8;
    else if (atLeast(v.determinate, 3, 8, 6)) n = 7;
  } else if (v?.implementation === "nix") {
    if (atLeast(v.version, 2, 35)) n = 8;
    else if (atLeast(v.version, 2, 31)) n = 7;
  } else if (v === undefined) n = 8;
  return `binary-cache-v${n}.sqlite`;
}

/**
 * How long Nix keeps a binary cache's `nix-cache-info` (priority, WantMassQuery, StoreDir) in the
 * disk cache: forever before 2.10, 7 days hard-coded from 2.10 (and in Lix), and from 2.34 the
 * setting `narinfo-cache-meta-ttl` (default 7 days), which `--refresh` sets to 0.
 */
export type MetaTtl = { kind: "forever" } | { kind: "fixed"; seconds: number } | { kind: "setting" };

export function narinfoMetaTtl(v: NixVersion | undefined): MetaTtl {
  if (v === undefined || nixAtLeast(v, 2, 34)) return { kind: "setting" };
  if (v.implementation === "lix" || atLeast(v.version, 2, 10))
    return { kind: "fixed", seconds: 7 * 24 * 3600 };
  return { kind: "forever" };
}
