// The Action's verify mode (the Cache Only guard): every target substitutable from the caches
// and the upstreams together, signed by a trusted key; the aggregate status; the report.
import * as core from "@actions/core";
import { parsePublicKeys } from "../../build/setup.js";
import { advertisedKeys, keysFrom, NIXOS_CACHE, NIXOS_CACHE_KEY } from "../../build/trust.js";
import { cacheToken } from "../../caches/credentials.js";
import { openAndProbeCaches } from "../../caches/probe.js";
import type { ActionInputs, RunContext } from "../../github/action-inputs.js";
import { verifyAnnotations } from "../../github/annotations.js";
import { aggregateError, aggregateFinal, aggregatePending } from "../../github/target-checks.js";
import type { NixConfig } from "../../local-nix/nix-config.js";
import { type PublicKey, publicKeyOf } from "../../nix/signing.js";
import { verifyDashboardReport } from "../../report/dashboard-report.js";
import {
  formatMarkdownSummary,
  formatTable,
  reportJson,
  waitProgressLine,
} from "../../report/verify-report.js";
import { errorMessage } from "../../util/errors.js";
import { verifyExitCode, verifyTargets } from "../../verify/verify.js";
import { checksOf } from "../checks.js";
import type { ExtraArgs } from "../extra-args.js";
import type { Outcome } from "../outcome.js";
import { signingKeyOf } from "../push-options.js";
import { targetsOf } from "../targets.js";
import { uploadDashboardReport } from "../upload-dashboard-report.js";

export async function runVerify(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  nixConfig: NixConfig,
): Promise<Outcome> {
  const upstreams = inputs.upstreams;
  const caches = [
    ...(await openAndProbeCaches(inputs.caches, { token: inputs.token, cachixApi: x.values.cachixApi })),
    ...(await openAndProbeCaches(upstreams)),
  ];
  try {
    const keys: PublicKey[] = [
      ...parsePublicKeys(x.values.trustedKey ?? [], "extra-args --trusted-key"),
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
    const opts: Parameters<typeof verifyTargets>[1] = {
      caches,
      trustedKeys: keys,
      closure: x.values.closure === true,
      concurrency: x.values.concurrency ?? 32,
      onProgress: (p) => {
        if (p.phase === "wait") core.info(waitProgressLine(p));
      },
    };
    if (x.values.wait !== undefined)
      opts.wait = { timeoutMs: x.values.wait, intervalMs: x.values.interval ?? 30_000 };
    const r = await core.group("Verify the cache", () => verifyTargets(targets, opts));
    const notOk = r.targets.filter((t) => t.status !== "ok").length;
    const reportUrl = await uploadDashboardReport(inputs, ctx, x, inputs.caches, (c) =>
      verifyDashboardReport(r, c, verifyExitCode(r) === 0),
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
