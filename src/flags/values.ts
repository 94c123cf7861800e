// The parsed values of the flag table (flags/table.ts), keyed as commander keys them (`maxJobs`,
// `report` for `--no-report`): what the CLI's actions and the Action's modes receive.
import type { Compression } from "../codec/compression.js";
import type { PrCommentMode } from "../report/pr-comment.js";

export interface TargetFlags {
  flake: string;
  config?: string;
  branch?: string;
  system?: string[];
}

export interface GitHubFlags {
  githubStatus?: boolean;
  maxStatuses: number;
  prComment?: PrCommentMode;
  runnerSystems?: string[];
}

export interface ReportFlags {
  reportTo?: string;
  report: boolean;
  commit?: string;
  branch?: string;
  flake: string;
  netrcFile?: string;
}

/** `build` and `ci` (and the Action's build and ci modes). */
export interface BuildFlags extends TargetFlags, GitHubFlags {
  push?: string[];
  trustedKey?: string[];
  /** false: `--no-upstream` (none; every path is pushed). */
  upstream?: string[] | false;
  upstreamKey?: string[];
  maxJobs?: string;
  cores?: string;
  keepGoing?: boolean;
  logDir?: string;
  requirePush?: boolean;
  /** A key file for the CLI; the Action gets the key's text from its input instead. */
  signingKey?: string;
  token?: string;
  netrcFile?: string;
  cachixApi?: string;
  compression: Compression;
  compressionLevel?: number;
  jobs: number;
  json?: boolean;
  summary?: string;
}

export interface VerifyFlags extends TargetFlags, ReportFlags, GitHubFlags {
  cache: string[];
  trustedKey?: string[];
  closure?: boolean;
  /** Milliseconds. */
  wait?: number;
  /** Milliseconds. */
  interval: number;
  json?: boolean;
  summary?: string;
  concurrency: number;
  path?: string[];
  cachixApi?: string;
}

export interface PushFlags {
  stdin?: boolean;
  compression: Compression;
  compressionLevel?: number;
  jobs: number;
  signingKey?: string;
  token?: string;
  netrcFile?: string;
  cachixApi?: string;
  dryRun?: boolean;
  json?: boolean;
}
