// The Action's build and ci modes: configure Nix, select the targets, build what the caches lack
// and push it (ci: then verify), with the GitHub checks; the CLI's pipelines, wired to @actions/core.
import { randomBytes } from "node:crypto";
import path from "node:path";
import * as core from "@actions/core";
import { build } from "../../build/build.js";
import {
  buildAnnotations,
  buildJson,
  buildSummaryLine,
  formatBuildMarkdown,
  formatBuildTable,
  formatLogGroups,
  pushedPaths,
} from "../../build/render.js";
import { prepareBuild } from "../../build/setup.js";
import type { BuildEvent, BuildReport } from "../../build/types.js";
import { ci } from "../../ci/ci.js";
import { ciDashboardReport } from "../../ci/dashboard-report.js";
import { ciAnnotations, ciJson, ciSummaryLine, formatCiMarkdown, formatCiTable } from "../../ci/render.js";
import { buildSetupOf } from "../../flags/build-setup.js";
import type { BuildFlags } from "../../flags/values.js";
import type { ActionInputs, RunContext } from "../../github/action-inputs.js";
import { aggregateError, aggregatePending, TargetChecks } from "../../github/target-checks.js";
import { buildableSystems, readNixConfig } from "../../local-nix/nix-config.js";
import { errorMessage } from "../../util/errors.js";
import { checksOf } from "../checks.js";
import type { ExtraArgs } from "../extra-args.js";
import { configureNix } from "../nix-setup.js";
import type { Outcome } from "../outcome.js";
import { compressionOf, signingKeyOf } from "../push-options.js";
import { targetsOf } from "../targets.js";
import { uploadDashboardReport } from "../upload-dashboard-report.js";

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

/** The caches to push to: none, said so, when the run has no token that may write. */
function pushCaches(inputs: ActionInputs, ctx: RunContext, noOidcPush: string | undefined): string[] {
  if (noOidcPush !== undefined) {
    core.notice(`${noOidcPush}: the job builds and reads the cache but does not push.`, {
      title: "nixcache: not pushing",
    });
    return [];
  }
  if (!inputs.token) {
    // A pull request from a fork has no secrets: build and read the cache, do not push, say so.
    if (ctx.forkPullRequest) {
      core.notice(
        "This pull request comes from a fork, and GitHub gives such runs no secrets: the job builds and reads the cache but does not push.",
        { title: "nixcache: not pushing" },
      );
      return [];
    }
    core.warning(
      "input token is empty: pushing without credentials (set the repository secret the workflow names)",
    );
  }
  return inputs.caches;
}

/** The build flags: extra-args' values, with the inputs in the place of the CLI's flags. */
function buildFlagsOf(inputs: ActionInputs, ctx: RunContext, x: ExtraArgs): BuildFlags {
  const v = x.values;
  const flags: BuildFlags = {
    ...v,
    flake: inputs.flake,
    maxStatuses: v.maxStatuses ?? 50,
    compression: compressionOf(x),
    jobs: v.jobs ?? 8,
    logDir: v.logDir ?? path.join(ctx.tempDir, `nixcache-logs-${randomBytes(4).toString("hex")}`),
  };
  // The upstreams are the input's; `--no-upstream` in extra-args (upstream: false) wins over it.
  if (v.upstream === false) flags.upstream = false;
  else if (inputs.upstreams.length > 0) flags.upstream = inputs.upstreams;
  else delete flags.upstream;
  if (inputs.token !== undefined) flags.token = inputs.token;
  return flags;
}

export async function runBuildOrCi(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  /** Why OIDC gave this run no token, or one that may not write (a pull request). */
  noOidcPush?: string,
): Promise<Outcome> {
  const pushTo = pushCaches(inputs, ctx, noOidcPush);
  const nixConfig = await readNixConfig();
  await configureNix(inputs, ctx, x.values.cachixApi, nixConfig);
  const gh = checksOf(inputs, x);
  const targets = await targetsOf(inputs, ctx, x, gh);
  const key = signingKeyOf(inputs);
  const setup = buildSetupOf(
    buildFlagsOf(inputs, ctx, x),
    { push: pushTo, targets, nixConfig, ...(key ? { signingKey: key } : {}) },
    { prefix: "extra-args ", upstream: "input upstream" },
  );
  const prepared = await prepareBuild(setup);
  try {
    const checks = gh
      ? new TargetChecks(gh, x.values.runnerSystems ?? [], buildableSystems(nixConfig))
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
      const reportUrl = await uploadDashboardReport(inputs, ctx, x, pushTo, (c) => ciDashboardReport(r, c));
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
