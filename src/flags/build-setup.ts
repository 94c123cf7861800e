// The one mapping from parsed build flags (the CLI's `build`/`ci`, the Action's build/ci modes)
// to what `prepareBuild` opens: keys parsed, upstream choice, defaults of the flag table.
import { type BuildSetup, parsePublicKeys, type UpstreamChoice } from "../build/setup.js";
import type { NixConfig } from "../local-nix/nix-config.js";
import type { SecretKey } from "../nix/signing.js";
import type { Target } from "../targets/resolve.js";
import { NixcacheError } from "../util/errors.js";
import type { BuildFlags } from "./values.js";

/** How the caller's user names things in messages: the CLI says `--upstream`, the Action `input upstream`. */
export interface FlagWording {
  /** Before a flag's name: "" (CLI) or "extra-args " (Action). */
  prefix: string;
  upstream: string;
}

export const CLI_WORDING: FlagWording = { prefix: "", upstream: "--upstream" };

/** What is known beside the flags: where to push, the selected targets, Nix's settings, the key. */
export interface BuildGiven {
  push: readonly string[];
  /** Absent while Nix still evaluates: the caller sets the prepared options' targets after. */
  targets?: Target[];
  /** May still be on its way from Nix (see BuildSetup). */
  nixConfig: NixConfig | Promise<NixConfig>;
  signingKey?: SecretKey;
}

/** The checks between flags, made before anything slow runs (evaluation, opening caches). */
export function checkBuildFlags(f: BuildFlags, w: FlagWording = CLI_WORDING): void {
  if (f.upstreamKey && f.upstream === undefined)
    throw new NixcacheError("usage", `${w.prefix}--upstream-key needs ${w.upstream}`);
  parsePublicKeys(f.trustedKey ?? [], `${w.prefix}--trusted-key`);
  parsePublicKeys(f.upstreamKey ?? [], `${w.prefix}--upstream-key`);
}

/** Parsed flags + what is given → the build's setup. Pure: nothing is opened or read. */
export function buildSetupOf(f: BuildFlags, given: BuildGiven, w: FlagWording = CLI_WORDING): BuildSetup {
  checkBuildFlags(f, w);
  const upstream: UpstreamChoice = {
    disabled: f.upstream === false,
    keys: parsePublicKeys(f.upstreamKey ?? [], `${w.prefix}--upstream-key`),
  };
  if (f.upstream) upstream.urls = f.upstream;
  const s: BuildSetup = {
    push: given.push,
    nixConfig: given.nixConfig,
    token: f.token,
    netrcFile: f.netrcFile,
    cachixApi: f.cachixApi,
    trustedKeys: parsePublicKeys(f.trustedKey ?? [], `${w.prefix}--trusted-key`),
    signingKey: given.signingKey,
    upstream,
    keepGoing: f.keepGoing === true,
    requirePush: f.requirePush === true,
    compression: f.compression,
    compressionLevel: f.compressionLevel,
    jobs: f.jobs,
  };
  if (given.targets !== undefined) s.targets = given.targets;
  if (f.logDir !== undefined) s.logDir = f.logDir;
  if (f.maxJobs !== undefined) s.maxJobs = f.maxJobs;
  if (f.cores !== undefined) s.cores = f.cores;
  return s;
}
