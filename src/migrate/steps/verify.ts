// The new cache is proven: every target of the flake (and its closure) is substitutable from it
// (plus the upstream caches given) and signed by its key. Checked afresh on every run: nothing
// is removed on the strength of an old answer.
import { openCache } from "../../caches/open.js";
import { parsePublicKey } from "../../nix/signing.js";
import { errorMessage } from "../../util/errors.js";
import { type VerifyReport, verifyTargets } from "../../verify/verify.js";
import type { MigrationContext } from "../context.js";
import { report, type Step } from "./types.js";

async function runVerify(ctx: MigrationContext): Promise<VerifyReport> {
  const { targets } = await ctx.targets();
  const urls = [ctx.cache.url, ...(ctx.opts.upstreams ?? [])];
  const caches = await Promise.all(
    urls.map((u, i) => openCache(u, i === 0 ? { token: ctx.token, cachixApi: ctx.opts.cachixApi } : {})),
  );
  try {
    return await verifyTargets(targets, {
      caches,
      trustedKeys: [...(ctx.cacheFacts?.publicKeys ?? []), ...(ctx.opts.upstreamKeys ?? [])].map(
        parsePublicKey,
      ),
      closure: true,
    });
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }
}

export const verifyStep: Step = {
  id: "verify",
  title: "verify passed against the new cache",
  async check(ctx) {
    if (!ctx.cacheFacts || ctx.cacheFacts.publicKeys.length === 0)
      return report(this, "blocked", "waits for the cache step (the key its narinfos are signed with)");
    let r: VerifyReport;
    try {
      r = await runVerify(ctx);
    } catch (e) {
      return report(this, "failed", `verify could not run: ${errorMessage(e)}`);
    }
    const n = r.counts.total;
    if (r.complete && n > 0) {
      ctx.verifyPassed = true;
      return report(
        this,
        "done",
        `all ${n} targets and their closures are substitutable from ${ctx.cache.url}, signed`,
      );
    }
    const bad = r.targets.filter((t) => t.status !== "ok");
    return report(
      this,
      "failed",
      n === 0
        ? "the target set is empty: nothing proves the cache"
        : `${bad.length} of ${n} targets not substitutable from ${ctx.cache.url}: ${bad.map((t) => `${t.attr} (${t.status})`).join(", ")}`,
      {
        remedy: `build and push them (\`nixcache build --push ${ctx.cache.url}\`, or let the new workflow run), then apply again`,
      },
    );
  },
  // Verify only reads: its check is its action.
  async apply(_ctx, pending) {
    return pending;
  },
};
