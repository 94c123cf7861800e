// The one table of the flags of `build`, `ci`, `verify` and `push`: name, value type, help,
// default and parser. The CLI builds its commander options from it (cli/flag-options.ts), the
// Action its extra-args parser (action/extra-args.ts); both hand the parsed values to
// flags/build-setup.ts. A parser's error names the flag as the user wrote it (`label`).
import { COMPRESSIONS } from "../codec/compression.js";
import { PR_COMMENT_MODES } from "../report/pr-comment.js";
import {
  parseChoiceFlag,
  parseDurationFlag,
  parseIntFlag,
  parseIntOrAutoFlag,
  parsePortFlag,
  parsePositiveIntFlag,
} from "../util/flag-values.js";
import type { FlagSpec } from "./spec.js";

export { type FlagSpec, flagKey } from "./spec.js";

const int =
  (min: number, max: number) =>
  (t: string, label: string): number =>
    parseIntFlag(t, label, min, max);

/** What chooses the target set (targets, build, ci, verify). */
export const TARGET_FLAGS: FlagSpec[] = [
  {
    name: "flake",
    type: "value",
    arg: "<ref>",
    help: "flake reference (a directory, git+file:, github:, ...)",
    default: ".",
  },
  {
    name: "config",
    type: "value",
    arg: "<file>",
    help: "garnix.yaml to use instead of the flake's own configuration (its garnix.config output, else <flake>/garnix.yaml)",
  },
  {
    name: "branch",
    type: "value",
    arg: "<name>",
    help: "branch being pushed: sections with another `branch:` do not apply",
    action: true,
  },
  {
    name: "system",
    type: "list",
    arg: "<systems...>",
    help: "only targets for these systems (e.g. x86_64-linux aarch64-darwin)",
    action: true,
  },
];

/** GitHub's checks: commit statuses, the aggregate, the pull-request comment (build, ci, verify). */
export const GITHUB_FLAGS: FlagSpec[] = [
  {
    name: "github-status",
    type: "switch",
    help: "write GitHub commit statuses (default under GitHub Actions; elsewhere needs GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_TOKEN)",
    action: true,
  },
  {
    name: "no-github-status",
    type: "switch",
    help: "write no commit statuses and no pull-request comment",
    action: true,
  },
  {
    name: "max-statuses",
    type: "value",
    arg: "<n>",
    help: "individual commit statuses per run at most, failures first",
    default: "50",
    parse: int(0, 10_000),
    action: true,
  },
  {
    name: "pr-comment",
    type: "value",
    arg: "<mode>",
    help: "the pull-request comment: auto (when something failed, or to update an earlier one), always, never (default: auto, or never when the Garnix config says commentOnFailure: false)",
    choices: PR_COMMENT_MODES,
    parse: (t, label) => parseChoiceFlag(t, label, PR_COMMENT_MODES),
    action: true,
  },
];

export const RUNNER_SYSTEMS_FLAG: FlagSpec = {
  name: "runner-systems",
  type: "list",
  arg: "<system...>",
  help: "systems the workflow has a build job for: their targets are left to those jobs' statuses (default: this machine's)",
  action: true,
};

const compression: FlagSpec = {
  name: "compression",
  type: "value",
  arg: "<method>",
  help: "NAR compression",
  choices: COMPRESSIONS,
  default: "zstd",
  parse: (t, label) => parseChoiceFlag(t, label, COMPRESSIONS),
  action: true,
};
const compressionLevel: FlagSpec = {
  name: "compression-level",
  type: "value",
  arg: "<n>",
  help: "compression level (default: zstd 2, xz 6)",
  parse: int(0, 22),
  action: true,
};
const netrcFile: FlagSpec = {
  name: "netrc-file",
  type: "value",
  arg: "<file>",
  help: "netrc file for Basic auth (default: the one Nix uses)",
};

/** The flags `build` and `ci` share (everything but where to push), after the target and GitHub ones. */
export const BUILD_FLAGS: FlagSpec[] = [
  {
    name: "trusted-key",
    type: "list",
    arg: "<key...>",
    help: "public key `name:base64` the caches' signatures are checked against (repeatable)",
    action: true,
  },
  {
    name: "upstream",
    type: "list",
    arg: "<url...>",
    help: "upstream caches whose signed paths are not pushed (default: cache.nixos.org when nix.conf uses it)",
  },
  {
    name: "upstream-key",
    type: "list",
    arg: "<key...>",
    help: "public keys the upstream caches sign with",
    action: true,
  },
  {
    name: "no-upstream",
    type: "switch",
    help: "no upstream caches, as serve's --no-upstream: push every path, even those cache.nixos.org serves",
    aliases: ["no-upstream-filter"],
    action: true,
  },
  {
    name: "max-jobs",
    type: "value",
    arg: "<n>",
    help: "passed to Nix: builds in parallel",
    parse: (t, label) => parseIntOrAutoFlag(t, label, 0, 4096),
    action: true,
  },
  {
    name: "cores",
    type: "value",
    arg: "<n>",
    help: "passed to Nix: cores per build",
    parse: (t, label) => String(parseIntFlag(t, label, 0, 4096)),
    action: true,
  },
  {
    name: "keep-going",
    short: "k",
    type: "switch",
    help: "a failed target does not stop the others",
    action: true,
  },
  {
    name: "log-dir",
    type: "value",
    arg: "<dir>",
    help: "where per-target build logs go (default: a new temporary directory, reported)",
    action: true,
  },
  {
    name: "require-push",
    type: "switch",
    help: "exit 1 when any output failed to reach any push cache",
    action: true,
  },
  {
    name: "signing-key",
    type: "value",
    arg: "<file>",
    help: "sign pushed narinfos with this Nix secret key file",
  },
  {
    name: "token",
    type: "value",
    arg: "<token>",
    help: "token for the caches (default: $NIXCACHE_TOKEN; cachix:// $CACHIX_AUTH_TOKEN)",
  },
  netrcFile,
  {
    name: "cachix-api",
    type: "value",
    arg: "<url>",
    help: "for cachix://NAME: the Cachix-compatible API",
    action: true,
  },
  compression,
  compressionLevel,
  {
    name: "jobs",
    short: "j",
    type: "value",
    arg: "<n>",
    help: "NAR uploads in flight per cache",
    default: "8",
    parse: int(1, 256),
    action: true,
  },
  { name: "json", type: "switch", help: "print the report as JSON on stdout" },
  {
    name: "summary",
    type: "value",
    arg: "<file>",
    help: "append a Markdown summary to this file (default under GitHub Actions: $GITHUB_STEP_SUMMARY)",
  },
];

/** The dashboard report of `ci` and `verify`: where to, none, and the commit it is for. */
export const REPORT_FLAGS: FlagSpec[] = [
  {
    name: "report-to",
    type: "value",
    arg: "<url>",
    help: "upload the JSON report to this nixcache server's cache (http(s)://HOST/<cache>; default: the first cache that is a nixcache server)",
    action: true,
  },
  { name: "no-report", type: "switch", help: "upload no report", action: true },
  {
    name: "commit",
    type: "value",
    arg: "<sha>",
    help: "the commit the report is for (default: $GITHUB_SHA, else git rev-parse HEAD in the flake)",
    action: true,
  },
];

/** `build`'s own flag, before the shared ones. */
export const BUILD_PUSH_FLAG: FlagSpec = {
  name: "push",
  type: "list",
  arg: "<cache...>",
  help: "caches to push to (file://, http(s)://, cachix://NAME); repeatable",
};

/** `ci`'s own flags, before the shared ones: the caches, or the embedded server's. */
export const CI_FLAGS: FlagSpec[] = [
  {
    name: "cache",
    type: "list",
    arg: "<url...>",
    help: "caches to push to and verify against (default: the embedded nixcache server)",
  },
  {
    name: "data",
    type: "value",
    arg: "<dir>",
    help: "data directory of the embedded server (default: $XDG_DATA_HOME/nixcache)",
  },
  {
    name: "port",
    type: "value",
    arg: "<port>",
    help: "port of the embedded server when it is started (default 7080, else a free one)",
    parse: parsePortFlag,
  },
];

/** `verify`'s own flags, before the target, report and GitHub ones. */
export const VERIFY_FLAGS: FlagSpec[] = [
  {
    name: "cache",
    type: "list",
    arg: "<url...>",
    help: "binary caches to check, in substituter order (file://, http(s)://)",
    required: true,
  },
  {
    name: "trusted-key",
    type: "list",
    arg: "<key...>",
    help: "trusted public key `name:base64` (repeatable); without one only presence is checked",
    action: true,
  },
  {
    name: "closure",
    type: "switch",
    help: "also check every path of each target's runtime closure",
    action: true,
  },
  {
    name: "wait",
    type: "value",
    arg: "<duration>",
    help: "re-check what is missing until complete or this much time passed (30s, 45m, 1h)",
    parse: (t, label) => parseDurationFlag(t, label),
    action: true,
  },
  {
    name: "interval",
    type: "value",
    arg: "<duration>",
    help: "time between checks with --wait",
    default: "30s",
    parse: (t, label) => parseDurationFlag(t, label),
    action: true,
  },
  { name: "json", type: "switch", help: "print the report as JSON" },
  {
    name: "summary",
    type: "value",
    arg: "<file>",
    help: "append a Markdown summary to this file (default under GitHub Actions: $GITHUB_STEP_SUMMARY)",
  },
  {
    name: "concurrency",
    type: "value",
    arg: "<n>",
    help: "cache requests in flight",
    default: "32",
    parse: parsePositiveIntFlag,
    action: true,
  },
  {
    name: "path",
    type: "list",
    arg: "<store-path...>",
    help: "verify these store paths (or ./result links) instead of the flake's targets; no evaluation",
  },
];

/** `push CACHE [PATHS...]`'s flags. */
export const PUSH_FLAGS: FlagSpec[] = [
  { name: "stdin", type: "switch", help: "also read paths from standard input, whitespace separated" },
  compression,
  compressionLevel,
  {
    name: "jobs",
    short: "j",
    type: "value",
    arg: "<n>",
    help: "paths in flight",
    default: 8,
    parse: int(1, 256),
    action: true,
  },
  {
    name: "signing-key",
    type: "value",
    arg: "<file>",
    help: "sign narinfos with this Nix secret key file (existing signatures are kept)",
  },
  {
    name: "token",
    type: "value",
    arg: "<token>",
    help: "Bearer token for the cache (default: $NIXCACHE_TOKEN; for cachix:// $CACHIX_AUTH_TOKEN, then $NIXCACHE_TOKEN)",
  },
  netrcFile,
  {
    name: "cachix-api",
    type: "value",
    arg: "<url>",
    help: "for cachix://NAME: the Cachix-compatible API (default: https://app.cachix.org/api/v1; token from --token, $CACHIX_AUTH_TOKEN or $NIXCACHE_TOKEN, signing key from $CACHIX_SIGNING_KEY)",
    action: true,
  },
  { name: "dry-run", short: "n", type: "switch", help: "show what would be pushed, upload nothing" },
  { name: "json", type: "switch", help: "print a machine-readable summary on stdout" },
];

/** Each command's flags, in --help order. */
export const COMMAND_FLAGS = {
  build: [BUILD_PUSH_FLAG, ...TARGET_FLAGS, ...GITHUB_FLAGS, RUNNER_SYSTEMS_FLAG, ...BUILD_FLAGS],
  ci: [...CI_FLAGS, ...TARGET_FLAGS, ...GITHUB_FLAGS, RUNNER_SYSTEMS_FLAG, ...BUILD_FLAGS, ...REPORT_FLAGS],
  verify: [...VERIFY_FLAGS, ...TARGET_FLAGS, ...REPORT_FLAGS, ...GITHUB_FLAGS],
  push: PUSH_FLAGS,
} as const satisfies Record<string, readonly FlagSpec[]>;
