// flake.nix's nixConfig names the new cache and its key: each is added beside an entry already
// there (the provider's, else the first of the same list), with doctor's edit planning, so the
// file keeps its layout. Removing the provider's entries waits for verify (the cleanup step).
import { applyEdits, describeEdit, type EditOp, planEdits } from "../../doctor/edits.js";
import type { MigrationContext } from "../context.js";
import { writeRepoFile } from "../state.js";
import { report, type Step } from "./types.js";

async function plan(ctx: MigrationContext) {
  const facts = ctx.cacheFacts;
  const c = await ctx.nixConfig();
  const subs = [...c.extraSubstituters, ...c.substituters];
  const keys = [...c.extraTrustedPublicKeys, ...c.trustedPublicKeys];
  if (!facts) return { c, missing: [] as string[], ops: [] as EditOp[], unknown: true };
  const missing: string[] = [];
  const ops: EditOp[] = [];
  const add = (value: string, have: string[], preferred: (v: string) => boolean) => {
    if (have.includes(value)) return;
    missing.push(value);
    const anchor = have.find(preferred) ?? have[0];
    if (anchor !== undefined) ops.push({ add: value, after: anchor });
  };
  add(facts.substituter, subs, (s) => ctx.from.substituters.includes(s));
  for (const k of facts.publicKeys) add(k, keys, ctx.from.isItsKey);
  return { c, missing, ops, unknown: false };
}

export const nixConfigStep: Step = {
  id: "nix-config",
  title: "nixConfig substituters and keys updated",
  async check(ctx) {
    const { c, missing, ops, unknown } = await plan(ctx);
    if (unknown) return report(this, "blocked", "waits for the cache step (its URL and key)");
    if (missing.length === 0)
      return report(this, "done", `flake.nix lists ${ctx.cacheFacts?.substituter} and its key`, {
        resumed: ctx.recorded("nix-config")?.status === "done",
      });
    const edits = planEdits(c.text, "flake.nix", ops);
    const placed = new Set(edits.flatMap((e) => e.values));
    const unplaced = missing.filter((v) => !placed.has(v));
    if (unplaced.length > 0)
      return report(this, "manual", "flake.nix has no substituter or key list to add to", {
        manualSteps: [
          `add to flake.nix: nixConfig = { extra-substituters = [ ${JSON.stringify(ctx.cacheFacts?.substituter)} ]; extra-trusted-public-keys = [ ${(ctx.cacheFacts?.publicKeys ?? []).map((k) => JSON.stringify(k)).join(" ")} ]; };`,
        ],
      });
    return report(this, "pending", `flake.nix lacks ${missing.join(", ")}`, {
      actions: edits.map(describeEdit),
    });
  },
  async apply(ctx, pending) {
    const { c, ops } = await plan(ctx);
    await writeRepoFile(
      ctx.repo,
      ctx.state,
      "flake.nix",
      applyEdits(c.text, planEdits(c.text, "flake.nix", ops)),
    );
    return report(this, "done", `flake.nix now lists ${ctx.cacheFacts?.substituter} and its key`, {
      actions: pending.actions,
    });
  },
};
