// The nixcache GitHub Action: inputs → library calls → outputs, step summary, annotations. The
// pipelines are the CLI's own (build, ci, verify, push from the library); this file only wires
// them to @actions/core. Bundled by scripts/build-action.mjs into dist/action/ (with the
// portable codecs: no native addon).
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import * as core from "@actions/core";
import { type BuildEvent, type BuildReport, build } from "../build/build.js";
import {
  buildAnnotations,
  buildJson,
  buildSummaryLine,
  formatBuildMarkdown,
  formatBuildTable,
  formatLogGroups,
  pushedPaths,
} from "../build/render.js";
import { type BuildSetup, parsePublicKeys, prepareBuild, type UpstreamChoice } from "../build/setup.js";
import { advertisedKeys, keysFrom, NIXOS_CACHE, NIXOS_CACHE_KEY } from "../build/trust.js";
import { CachixCache } from "../caches/cachix/cache.js";
import { cacheToken } from "../caches/credentials.js";
import { HttpCache } from "../caches/http-cache.js";
import { openCache } from "../caches/open.js";
import { openAndProbeCaches } from "../caches/probe.js";
import { ci } from "../ci/ci.js";
import { ciAnnotations, ciJson, ciSummaryLine, formatCiMarkdown, formatCiTable } from "../ci/render.js";
import { ciReportUpload } from "../ci/report-upload.js";
import {
  type Compression,
  codecBackendName,
  compressionUnsupported,
  defaultCompression,
  parseCompression,
} from "../codec/compression.js";
import {
  type ActionInputs,
  type ExtraArgs,
  parseExtraArgs,
  type RunContext,
  readActionInputs,
  runContext,
} from "../github/action-inputs.js";
import { verifyAnnotations } from "../github/annotations.js";
import type { GitHubChecks } from "../github/checks.js";
import {
  applyNixSetup,
  ignoredSettings,
  type NixSetupState,
  nixTrust,
  restoreNixSetup,
  type SubstituterPlan,
} from "../github/nix-setup.js";
import { oidcLogin } from "../github/oidc-login.js";
import {
  aggregateError,
  aggregateFinal,
  aggregatePending,
  openGitHubChecks,
  parseMaxStatuses,
  parsePrCommentMode,
  TargetChecks,
} from "../github/target-checks.js";
import { parseSigningKey } from "../keys/key-files.js";
import { buildableSystems, type NixConfig, readNixConfig } from "../local-store/nix-config.js";
import { resolveStorePath } from "../local-store/path-info.js";
import { type PublicKey, publicKeyOf, type SecretKey } from "../nix/signing.js";
import { type PushSummary, push } from "../push/push.js";
import { formatPushSummary } from "../report/push-report.js";
import { type ReportContext, reportContext, sendReport, verifyReportUpload } from "../report/upload.js";
import { formatMarkdownSummary, formatTable, reportJson, waitProgressLine } from "../report/verify-report.js";
import type { Annotation } from "../report/workflow-commands.js";
import { resolveTargets, type Target } from "../targets/resolve.js";
import type { ReportUpload } from "../ui-api/types.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import { parseDuration } from "../util/quantity.js";
import { verifyExitCode, verifyTargets } from "../verify/verify.js";

const STATE_KEY = "nix-setup";

interface Outcome {
  ok: boolean;
  line: string;
  json: unknown;
  markdown: string;
  table: string;
  annotations: Annotation[];
  counts: { built: number; cached: number; failed: number; pushed: number };
}

const str = (x: ExtraArgs, k: string): string | undefined => {
  const v = x.values[k];
  return typeof v === "string" ? v : undefined;
};
const strs = (x: ExtraArgs, k: string): string[] => {
  const v = x.values[k];
  return Array.isArray(v) ? v : [];
};
const int = (x: ExtraArgs, k: string): number | undefined => {
  const v = str(x, k);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v))
    throw new NixcacheError("usage", `extra-args --${k} must be a number, got ${JSON.stringify(v)}`);
  return Number(v);
};

function signingKeyOf(inputs: ActionInputs): SecretKey | undefined {
  if (!inputs.signingKey) return undefined;
  try {
    return parseSigningKey(inputs.signingKey).key;
  } catch (e) {
    // The message of a key error never holds the key; and the key is masked.
    throw new NixcacheError("usage", `input signing-key: ${errorMessage(e)}`);
  }
}

/** The compression to push with: `--compression`, else zstd, else (no zstd here) none, said so. */
function compressionOf(x: ExtraArgs): Compression {
  const asked = str(x, "compression");
  let c: Compression;
  if (asked !== undefined) {
    c = parseCompression(asked);
    const why = compressionUnsupported(c);
    if (why) throw new NixcacheError("usage", `extra-args --compression ${c}: ${why}`);
  } else {
    const d = defaultCompression();
    if (d.fallback) core.notice(`NARs are pushed uncompressed (Compression: none): ${d.fallback}.`);
    c = d.compression;
  }
  // Which implementation compresses: the bundle's is node:zlib (zstd from Node 22.15 on).
  if (c !== "none") core.info(`Compressing NARs with ${c}: ${codecBackendName()}, Node ${process.version}.`);
  return c;
}

async function targetsOf(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  checks?: GitHubChecks,
): Promise<Target[]> {
  const branch = str(x, "branch") ?? ctx.branch;
  const systems = strs(x, "system");
  const res = await resolveTargets({
    flake: inputs.flake,
    ...(inputs.config !== undefined ? { configFile: inputs.config } : {}),
    ...(branch !== undefined ? { branch } : {}),
    ...(systems.length > 0 ? { systems } : {}),
  });
  for (const w of res.warnings) core.warning(w);
  for (const n of res.notes) core.notice(n, { title: "nixcache: Garnix config" });
  // The Garnix config's commentOnFailure: false turns the comment off unless extra-args say.
  if (checks && res.commentOnFailure === false && str(x, "pr-comment") === undefined) checks.mode = "never";
  core.info(`${res.targets.length} targets selected (${res.configSource})`);
  return res.targets;
}

/** Substituter, keys and netrc entries that let the job's Nix read each cache. */
async function substituterPlan(
  inputs: ActionInputs,
  cachixApi: string | undefined,
): Promise<SubstituterPlan> {
  const plan: SubstituterPlan = { substituters: [], publicKeys: [], netrc: [] };
  for (const url of inputs.caches) {
    const token = cacheToken(url, inputs.token);
    const cache = await openCache(url, { token, cachixApi });
    try {
      const substituter =
        cache instanceof CachixCache ? (await cache.describe()).uri : url.replace(/\/+$/, "");
      plan.substituters.push(substituter);
      for (const k of await advertisedKeys(cache, token))
        plan.publicKeys.push(`${k.name}:${k.key.toString("base64")}`);
      if (token && /^https?:/.test(substituter))
        plan.netrc.push({ machine: new URL(substituter).hostname, password: token });
    } finally {
      await cache.close();
    }
  }
  return plan;
}

async function configureNix(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  nixConfig: NixConfig,
): Promise<void> {
  await core.group("Configure Nix to substitute from the cache", async () => {
    const plan = await substituterPlan(inputs, str(x, "cachix-api"));
    const { state, lines } = await applyNixSetup(plan, { tempDir: ctx.tempDir });
    core.saveState(STATE_KEY, JSON.stringify(state));
    core.info(`${state.confFile}:`);
    for (const l of lines) core.info(`  ${l}`);
    for (const w of ignoredSettings(await nixTrust(nixConfig), plan))
      core.warning(w, { title: "Nix ignored a setting" });
  });
}

function buildSetup(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  targets: Target[],
  nixConfig: NixConfig,
  pushTo: readonly string[],
): BuildSetup {
  const upstream: UpstreamChoice = {
    disabled: x.values["no-upstream-filter"] === true,
    keys: parsePublicKeys(strs(x, "upstream-key"), "--upstream-key"),
  };
  if (inputs.upstreams.length > 0) upstream.urls = inputs.upstreams;
  const s: BuildSetup = {
    push: pushTo,
    targets,
    nixConfig,
    token: inputs.token,
    cachixApi: str(x, "cachix-api"),
    trustedKeys: parsePublicKeys(strs(x, "trusted-key"), "--trusted-key"),
    signingKey: signingKeyOf(inputs),
    upstream,
    keepGoing: x.values["keep-going"] === true,
    requirePush: x.values["require-push"] === true,
    compression: compressionOf(x),
    compressionLevel: int(x, "compression-level"),
    jobs: int(x, "jobs") ?? 8,
    logDir: str(x, "log-dir") ?? path.join(ctx.tempDir, `nixcache-logs-${randomBytes(4).toString("hex")}`),
  };
  const maxJobs = str(x, "max-jobs");
  const cores = str(x, "cores");
  if (maxJobs !== undefined) s.maxJobs = maxJobs;
  if (cores !== undefined) s.cores = cores;
  return s;
}

/** The run's GitHub checks as the inputs and extra-args say (on by default under Actions). */
function checksOf(inputs: ActionInputs, x: ExtraArgs): GitHubChecks | undefined {
  const on = x.values["github-status"] === true;
  const off = x.values["no-github-status"] === true;
  if (on && off)
    throw new NixcacheError("usage", "extra-args: --github-status and --no-github-status contradict");
  const max = str(x, "max-statuses");
  const mode = str(x, "pr-comment");
  return openGitHubChecks({
    ...(on ? { enabled: true } : off ? { enabled: false } : {}),
    ...(inputs.githubToken !== undefined ? { token: inputs.githubToken } : {}),
    ...(max !== undefined ? { maxStatuses: parseMaxStatuses(max, "extra-args --max-statuses") } : {}),
    ...(mode !== undefined ? { prComment: parsePrCommentMode(mode, "extra-args --pr-comment") } : {}),
    notify: {
      warning: (m) => core.warning(m, { title: "nixcache: GitHub" }),
      notice: (m) => core.notice(m, { title: "nixcache: GitHub" }),
    },
  });
}

function logEvent(e: BuildEvent): void {
  if (e.type === "evaluated")
    core.info(
      `${e.targets} targets: ${e.cached} cached, ${e.toBuild} to build, ${e.notBuiltHere} not built here`,
    );
  else if (e.type === "target" && (e.phase === "done" || e.phase === "failed"))
    core.info(`${e.phase === "done" ? "done" : "FAILED"}: ${e.attr} (${e.system})`);
  else if (e.type === "cache-down") core.warning(`${e.cache}: ${e.reason}`);
  else if (e.type === "log-refused") core.warning(`${e.cache} did not take a build log: ${e.reason}`);
}

function buildCounts(r: BuildReport): Outcome["counts"] {
  const s = r.summary;
  return { built: s.built, cached: s.cached, failed: s.failed + s.evalFailed, pushed: pushedPaths(r) };
}

async function runBuildOrCi(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  /** Why OIDC gave this run no token, or one that may not write (a pull request). */
  noOidcPush?: string,
): Promise<Outcome> {
  // A pull request from a fork has no secrets: build and read the cache, do not push, say so.
  let pushTo = inputs.caches;
  if (noOidcPush !== undefined) {
    core.notice(`${noOidcPush}: the job builds and reads the cache but does not push.`, {
      title: "nixcache: not pushing",
    });
    pushTo = [];
  } else if (!inputs.token) {
    if (ctx.forkPullRequest) {
      core.notice(
        "This pull request comes from a fork, and GitHub gives such runs no secrets: the job builds and reads the cache but does not push.",
        { title: "nixcache: not pushing" },
      );
      pushTo = [];
    } else
      core.warning(
        "input token is empty: pushing without credentials (set the repository secret the workflow names)",
      );
  }
  const nixConfig = await readNixConfig();
  await configureNix(inputs, ctx, x, nixConfig);
  const gh = checksOf(inputs, x);
  const targets = await targetsOf(inputs, ctx, x, gh);
  const prepared = await prepareBuild(buildSetup(inputs, ctx, x, targets, nixConfig, pushTo));
  try {
    const checks = gh
      ? new TargetChecks(gh, strs(x, "runner-systems"), buildableSystems(nixConfig))
      : undefined;
    checks?.begin(targets);
    const onEvent = (e: BuildEvent) => {
      logEvent(e);
      checks?.event(e);
    };
    if (inputs.command === "ci" && pushTo.length > 0) {
      if (gh) await aggregatePending(gh, "building, pushing and verifying every target");
      const r = await core
        .group("Build, push and verify", () => ci({ ...prepared.options, onEvent }))
        .catch(async (e: unknown) => {
          if (gh) await aggregateError(gh, errorMessage(e));
          throw e;
        });
      const reportUrl = await uploadReport(inputs, ctx, x, pushTo, (c) => ciReportUpload(r, c));
      await checks?.finish(r.targets, { ...(reportUrl !== undefined ? { reportUrl } : {}) });
      return {
        ok: r.summary.ok,
        line: ciSummaryLine(r),
        json: ciJson(r),
        markdown: formatCiMarkdown(r),
        table: `${formatLogGroups(r.build)}${formatCiTable(r)}`,
        annotations: ciAnnotations(r),
        counts: buildCounts(r.build),
      };
    }
    const r = await core.group(pushTo.length > 0 ? "Build and push" : "Build", () =>
      build({ ...prepared.options, onEvent }),
    );
    await checks?.finish(r.targets);
    return {
      ok: r.summary.ok,
      line: buildSummaryLine(r),
      json: buildJson(r),
      markdown: formatBuildMarkdown(r),
      table: `${formatLogGroups(r)}${formatBuildTable(r)}`,
      annotations: buildAnnotations(r),
      counts: buildCounts(r),
    };
  } finally {
    await prepared.close();
  }
}

async function runVerify(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  nixConfig: NixConfig,
): Promise<Outcome> {
  const upstreams = inputs.upstreams;
  const cachixApi = str(x, "cachix-api");
  const caches = [
    ...(await openAndProbeCaches(inputs.caches, { token: inputs.token, cachixApi })),
    ...(await openAndProbeCaches(upstreams)),
  ];
  try {
    const keys: PublicKey[] = [
      ...parsePublicKeys(strs(x, "trusted-key"), "--trusted-key"),
      ...keysFrom(nixConfig.trustedPublicKeys),
    ];
    const key = signingKeyOf(inputs);
    if (key) keys.push(publicKeyOf(key));
    for (const c of caches.slice(0, inputs.caches.length))
      keys.push(...(await advertisedKeys(c, cacheToken(c.url, inputs.token))));
    if (upstreams.some((u) => u.replace(/\/+$/, "") === NIXOS_CACHE))
      keys.push(...keysFrom([NIXOS_CACHE_KEY]));
    const gh = checksOf(inputs, x);
    if (gh) await aggregatePending(gh, "verifying that every target is substitutable");
    const targets = await targetsOf(inputs, ctx, x, gh).catch(async (e: unknown) => {
      if (gh) await aggregateError(gh, errorMessage(e));
      throw e;
    });
    const wait = str(x, "wait");
    const opts: Parameters<typeof verifyTargets>[1] = {
      caches,
      trustedKeys: keys,
      closure: x.values.closure === true,
      concurrency: int(x, "concurrency") ?? 32,
      onProgress: (p) => {
        if (p.phase === "wait") core.info(waitProgressLine(p));
      },
    };
    if (wait !== undefined)
      opts.wait = { timeoutMs: parseDuration(wait), intervalMs: parseDuration(str(x, "interval") ?? "30s") };
    const r = await core.group("Verify the cache", () => verifyTargets(targets, opts));
    const notOk = r.targets.filter((t) => t.status !== "ok").length;
    const reportUrl = await uploadReport(inputs, ctx, x, inputs.caches, (c) =>
      verifyReportUpload(r, c, verifyExitCode(r) === 0),
    );
    if (gh) {
      await aggregateFinal(
        gh,
        r.targets.map((t) => ({ attr: t.attr, system: t.system, ok: t.status === "ok" })),
        reportUrl,
      );
    }
    return {
      ok: verifyExitCode(r) === 0,
      line: `${r.targets.length - notOk}/${r.targets.length} targets substitutable${x.values.closure ? " with their closures" : ""}`,
      json: reportJson(r),
      markdown: formatMarkdownSummary(r),
      table: formatTable(r),
      annotations: verifyAnnotations(r),
      counts: { built: 0, cached: 0, failed: notOk, pushed: 0 },
    };
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }
}

/**
 * The dashboard report, as the CLI sends it (cli/report-flags.ts): to `--report-to`, else the first
 * cache that is a nixcache server. A failed upload is a warning, never the step's failure.
 */
async function uploadReport(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  caches: readonly string[],
  make: (c: ReportContext) => ReportUpload,
): Promise<string | undefined> {
  if (x.values["no-report"] === true) return undefined;
  const context = await reportContext({ commit: str(x, "commit"), branch: str(x, "branch") ?? ctx.branch });
  const explicit = str(x, "report-to");
  const outcome = await sendReport(make(context), {
    ...(explicit !== undefined ? { explicit } : {}),
    candidates: caches,
    open: async (url) => new HttpCache(url, { token: cacheToken(url, inputs.token) }),
  });
  if (outcome.kind === "uploaded") {
    core.info(`Report uploaded: ${outcome.url}`);
    return outcome.url;
  }
  if (outcome.kind === "failed")
    core.warning(`the report was not uploaded to ${outcome.cache}: ${outcome.reason}`, {
      title: "nixcache report",
    });
  return undefined;
}

async function runPush(inputs: ActionInputs, x: ExtraArgs): Promise<Outcome> {
  if (x.positionals.length === 0)
    throw new NixcacheError("usage", "command push: put the store paths in extra-args");
  const paths = await Promise.all(x.positionals.map((p) => resolveStorePath(p)));
  const compression = compressionOf(x);
  const out: Outcome = {
    ok: true,
    line: "",
    json: [],
    markdown: "",
    table: "",
    annotations: [],
    counts: { built: 0, cached: 0, failed: 0, pushed: 0 },
  };
  const summaries: PushSummary[] = [];
  for (const url of inputs.caches) {
    const cache = await openCache(url, {
      token: cacheToken(url, inputs.token),
      cachixApi: str(x, "cachix-api"),
    });
    try {
      const s = await core.group(`Push to ${url}`, () =>
        push(cache, paths, {
          compression,
          level: int(x, "compression-level"),
          jobs: int(x, "jobs") ?? 8,
          signingKey: signingKeyOf(inputs),
        }),
      );
      summaries.push(s);
      const text = formatPushSummary(s);
      out.table += `${text.stderr}${text.stdout}`;
      out.counts.pushed += s.pushed.length;
      out.counts.cached += s.skipped.length;
      out.counts.failed += s.failed.length;
      for (const f of s.failed)
        out.annotations.push({ title: `nixcache push: ${url}`, message: `${f.path}: ${f.error}` });
    } finally {
      await cache.close();
    }
  }
  out.ok = out.counts.failed === 0;
  out.line = `${out.counts.pushed} paths pushed, ${out.counts.cached} already there, ${out.counts.failed} failed`;
  out.json = summaries;
  out.markdown = `### nixcache push: ${out.ok ? "✅" : "❌"} ${out.line}\n\n`;
  return out;
}

/**
 * `oidc: true`: exchanges the job's identity token for the cache token (into `inputs.token`).
 * Returns why the job must not push, when it got no token or one that cannot write.
 */
async function loginWithOidc(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
): Promise<string | undefined> {
  const login = await core.group("Exchange the job's OIDC identity token for a cache token", () =>
    oidcLogin({ caches: inputs.caches, audience: inputs.oidcAudience, ctx, cachixApi: str(x, "cachix-api") }),
  );
  if (login.kind === "skipped") {
    if (inputs.command === "verify" || inputs.command === "push")
      core.notice(`${login.reason}: going on without a cache token.`, { title: "nixcache: no token" });
    return login.reason;
  }
  inputs.token = login.token;
  if (login.writable || inputs.command === "verify") return undefined;
  const readOnly = `cache token this job got through OIDC may not write to every cache (${JSON.stringify(login.grant.caches)})`;
  // Pull requests are meant to get read access only; anywhere else it is a missing rule.
  if (!ctx.event.startsWith("pull_request"))
    throw new NixcacheError(
      "forbidden",
      `input oidc: the ${readOnly}: add a write trust rule for this job on the server`,
    );
  return `The ${readOnly}`;
}

/** The Action's main step. Never throws: a failure fails the step with its message. */
export async function main(): Promise<void> {
  let inputs: ActionInputs;
  try {
    inputs = readActionInputs();
  } catch (e) {
    core.setFailed(errorMessage(e));
    return;
  }
  try {
    const ctx = runContext();
    const x = parseExtraArgs(inputs.command, inputs.extraArgs);
    if (inputs.caches.length === 0)
      throw new NixcacheError("usage", "input cache: name at least one cache URL");
    // The exchanged token is then the job's cache token, as input token would be.
    const noOidcPush = inputs.oidc ? await loginWithOidc(inputs, ctx, x) : undefined;
    let outcome: Outcome;
    if (inputs.command === "verify") outcome = await runVerify(inputs, ctx, x, await readNixConfig());
    else if (inputs.command === "push") outcome = await runPush(inputs, x);
    else outcome = await runBuildOrCi(inputs, ctx, x, noOidcPush);

    core.info(outcome.table);
    await mkdir(ctx.tempDir, { recursive: true });
    const report = path.join(ctx.tempDir, `nixcache-${inputs.command}-report.json`);
    await writeFile(report, `${JSON.stringify(outcome.json, null, 2)}\n`);
    core.setOutput("built", outcome.counts.built);
    core.setOutput("cached", outcome.counts.cached);
    core.setOutput("failed", outcome.counts.failed);
    core.setOutput("pushed", outcome.counts.pushed);
    core.setOutput("report", report);
    core.info(`report: ${report}`);
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(outcome.markdown).write();
    for (const a of outcome.annotations) core.error(a.message, { title: a.title });
    if (!outcome.ok) core.setFailed(`nixcache ${inputs.command}: ${outcome.line}`);
    else core.info(`nixcache ${inputs.command}: ${outcome.line}`);
  } catch (e) {
    core.setFailed(errorMessage(e));
  }
}

/** The post step: takes back the Nix configuration main changed. */
export async function post(): Promise<void> {
  const saved = core.getState(STATE_KEY);
  if (!saved) return;
  try {
    const state = JSON.parse(saved) as NixSetupState;
    await restoreNixSetup(state);
    core.info(`restored ${state.confFile}${state.netrcFile ? ` and removed ${state.netrcFile}` : ""}`);
  } catch (e) {
    core.warning(`could not restore the Nix configuration: ${errorMessage(e)}`);
  }
}
