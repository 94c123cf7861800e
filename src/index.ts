// nixcache as a library: what the CLI does, for programs. Open a cache by URL, plan and run a push,
// select a flake's targets, verify they are substitutable, read and write Nix's formats, and run
// the embedded server. Every error is a NixcacheError with a stable `code` (see util/errors.ts).
//
// The CLI imports the modules behind this file directly, and lazily, to keep `nixcache` start-up
// fast; the names and behaviour are the same.

export { CachixCache, type CachixCacheOptions } from "./caches/cachix/cache.js";

// Caches: open by URL (file://, http(s)://, cachix://), probe, credentials from the environment
export { CachixApi, CachixApiError, openCachixApi } from "./caches/cachix/client.js";
export { cacheToken, cachixApiUrl, cachixToken } from "./caches/credentials.js";
export { FileCache } from "./caches/file-cache.js";
export { HttpCache, HttpCacheError, type HttpCacheOptions } from "./caches/http-cache.js";
export { type OpenCacheOptions, openCache } from "./caches/open.js";
export { CacheProbeError, openAndProbeCaches } from "./caches/probe.js";
export type {
  BinaryCache,
  NarUpload,
  StagedPath,
  StoredBuildLog,
  UploadInfo,
  WritableBinaryCache,
} from "./caches/types.js";
export * as cachixApi from "./cachix-api/schemas.js";
// Compression
export {
  COMPRESSIONS,
  type Compression,
  codecBackendName,
  compressionUnsupported,
  defaultCompression,
  narExtension,
  parseCompression,
} from "./codec/compression.js";
// Doctor: checks that return data, one report, one exit status (migrate reuses the checks)
export {
  type ConfigSource,
  checkKey,
  type Finding,
  flakeConfigFindings,
  type KeyCheck,
  type KeyStatus,
  keyFindings,
  type SubstituterCheck,
  signatureFacts,
  substituterFindings,
} from "./doctor/checks.js";
export { defaultDiskCacheFile, readDiskCache } from "./doctor/disk-cache.js";
export { type DoctorOptions, type DoctorReport, doctorExitCode, runDoctor } from "./doctor/doctor.js";
export {
  applyEdits,
  describeEdit,
  type EditOp,
  type FileEdit,
  planEdits,
  removalEdits,
} from "./doctor/edits.js";
export { flakeConfigTrust } from "./doctor/inputs.js";
export { deadCost, type ProbeResult, probeSubstituter, type SubstituterStatus } from "./doctor/probe.js";
export { formatDoctorReport } from "./doctor/render.js";
// GitHub Actions: annotations, step summary, the generated workflows, the Action's Nix set-up
export {
  errorAnnotation,
  formatAnnotations,
  verifyAnnotations,
} from "./github/annotations.js";
export {
  AGGREGATE_CONTEXT,
  addRequiredContext,
  type RequiredContexts,
  removeRequiredContext,
  requireAggregateHowTo,
  requiredContexts,
} from "./github/branch-protection.js";
export {
  applyNixSetup,
  ignoredSettings,
  type NixSetupState,
  type NixTrust,
  nixTrust,
  restoreNixSetup,
  type SubstituterPlan,
  userNixConfFile,
} from "./github/nix-setup.js";
// GitHub Actions secrets and variables
export { GitHubApiError, githubClient, githubToken } from "./github/rest.js";
export { sealForGitHub } from "./github/sealed-box.js";
export {
  actionsName,
  formatSyncReport,
  type NamedValue,
  parseRepo,
  type SyncItem,
  type SyncReport,
  syncActions,
} from "./github/secrets.js";
export { appendStepSummary, inGitHubActions, stepSummaryFile } from "./github/step-summary.js";
export {
  DEFAULT_RUNNERS,
  generateWorkflows,
  jobPermissions,
  parseRunnerFlags,
  RETIRED_WORKFLOW_FILES,
  regenerateCommand,
  type WorkflowOptions,
} from "./github/workflow.js";
export {
  checkWorkflows,
  type GeneratedFile,
  removeRetiredWorkflows,
  writeWorkflows,
} from "./github/workflow-files.js";
// Key files
export {
  generateKeyFiles,
  parseSigningKey,
  readPublicKeyArg,
  readSecretKeyFile,
  readSigningKey,
} from "./keys/key-files.js";
export { type FlakeNixConfig, readFlakeNixConfig } from "./local-nix/flake-nix-config.js";
// The local Nix
export { FlakeEvalError, resolveFlakeRef } from "./local-nix/flake-ref.js";
export { type PathInfo, PathInfoError, queryPathInfos, resolveStorePath } from "./local-nix/path-info.js";
// Migrate: the steps from Garnix to an own cache, a state file, plan/apply/status/rollback
export {
  type MigrateOptions,
  MigrationContext,
  PROVIDERS,
  parseTargetCache,
  TARGETS_FILE,
} from "./migrate/context.js";
export {
  applyMigration,
  type MigrationReport,
  type MigrationStatus,
  migrationStatus,
  planMigration,
  type RollbackReport,
  rollbackMigration,
  STEPS,
} from "./migrate/runner.js";
export { loadState, type MigrationState, STATE_FILE } from "./migrate/state.js";
export type { Step, StepReport, StepStatus } from "./migrate/steps/types.js";
// Nix formats
export { type CacheInfo, formatCacheInfo, parseCacheInfo } from "./nix/cache-info.js";
export {
  formatHashBase64,
  formatHashHex,
  formatHashNix32,
  formatHashSRI,
  type Hash,
  type HashAlgo,
  HashParseError,
  hashBytes,
  hashEquals,
  parseHash,
} from "./nix/hash.js";
export { type NarEntry, NarError, parseNar, validateNar } from "./nix/nar-decode.js";
export { encodeNar, NarEncodeError, narHashOfPath } from "./nix/nar-encode.js";
export { extractNar, NarExtractError } from "./nix/nar-extract.js";
export { listNar, NarLookupError, narFileContents, narListingJson } from "./nix/nar-list.js";
export {
  buildNarInfo,
  formatNarInfo,
  type NarInfo,
  NarInfoError,
  narInfoFingerprint,
  parseNarInfo,
  signNarInfo,
  verifyNarInfo,
} from "./nix/narinfo.js";
export { nix32Decode, nix32Encode } from "./nix/nix32.js";
export {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  KeyFormatError,
  type PublicKey,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  type SecretKey,
} from "./nix/signing.js";
export {
  DEFAULT_STORE_DIR,
  isStoreHash,
  parseStorePath,
  parseStorePathBase,
  type StorePath,
  StorePathError,
} from "./nix/store-path.js";
// Push: plan (what the cache lacks, dependencies first), then upload
export { type PushPlan, planPush, topoSort } from "./push/plan.js";
export { type PushEvent, type PushOptions, type PushSummary, push } from "./push/push.js";
export { formatMarkdownSummary, formatTable, whatIsMissing } from "./report/verify-report.js";
// Secret sources: dotenv, JSON, environment, age files, agenix directories
export { type AgeIdentity, decryptAge, readIdentityFile } from "./secrets/age.js";
export { readAgenixDir, readSecretsNix, secretNameOfFile } from "./secrets/agenix.js";
export {
  parseDotenv,
  parseJsonSecrets,
  readEnvSource,
  readSecretSource,
  SecretSourceError,
  type SourcedValue,
} from "./secrets/sources.js";
export { parseListen } from "./server/addresses.js";
// The embedded server (as src/server/server.ts exports it)
export {
  DEFAULT_LISTEN,
  DEFAULT_MAX_UPLOAD_BYTES,
  MAX_HEADER_BYTES,
  MAX_NARINFO_BYTES,
  type RunningServer,
  type ServerOptions,
  startServer,
} from "./server/server.js";
// Targets: garnix.yaml semantics, resolution to store paths
export {
  DEFAULT_INCLUDE,
  GarnixConfigError,
  parseGarnixConfig,
  parsePattern,
} from "./targets/garnix-config.js";
export { type ResolvedTargets, type ResolveOptions, resolveTargets, type Target } from "./targets/resolve.js";
export { attrText, CANDIDATE_SYSTEMS, isCandidate, matchPattern, selectPaths } from "./targets/select.js";
export { storePathTargets } from "./targets/store-paths.js";
// Small pieces a caller of the above needs
export { abortOnSigint } from "./util/abort.js";
// Errors
export {
  ERROR_KINDS,
  type ErrorCode,
  errorCode,
  errorMessage,
  exitCodeOf,
  httpStatusOf,
  NixcacheError,
} from "./util/errors.js";
export { type Limiter, limiter, mapLimit } from "./util/limiter.js";
export { formatDuration, parseDuration, parseSize } from "./util/quantity.js";
// Verify and its reports
export {
  type TargetCheck,
  type TargetStatus,
  type VerifyOptions,
  type VerifyProgress,
  type VerifyReport,
  verifyExitCode,
  verifyTargets,
} from "./verify/verify.js";
