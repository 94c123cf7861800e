// The Action's push mode: the store paths extra-args names, pushed with their closures to each cache.
import * as core from "@actions/core";
import { cacheToken } from "../../caches/credentials.js";
import { openCache } from "../../caches/open.js";
import type { ActionInputs } from "../../github/action-inputs.js";
import { resolveStorePath } from "../../local-nix/path-info.js";
import { type PushSummary, push } from "../../push/push.js";
import { formatPushSummary } from "../../report/push-report.js";
import { NixcacheError } from "../../util/errors.js";
import type { ExtraArgs } from "../extra-args.js";
import type { Outcome } from "../outcome.js";
import { compressionOf, signingKeyOf } from "../push-options.js";

export async function runPush(inputs: ActionInputs, x: ExtraArgs): Promise<Outcome> {
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
      cachixApi: x.values.cachixApi,
    });
    try {
      const s = await core.group(`Push to ${url}`, () =>
        push(cache, paths, {
          compression,
          level: x.values.compressionLevel,
          jobs: x.values.jobs ?? 8,
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
