// `nixcache build`: evaluate the target set, skip what the push caches already hold (signed by a
// key they trust), build the rest with one `nix-store --realise`, and push each target's
// closure to every push cache as soon as its outputs are valid, while the others still build.
// The build log of every target built (or failed) goes to each push cache that takes logs, as
// `log/<drv basename>`, where `nix log` and the server's dashboard find it.
import { buildableSystems, readNixConfig } from "../local-nix/nix-config.js";
import { resolveTargets, type Target } from "../targets/resolve.js";
import { attributeFailures } from "./attribute-failures.js";
import { initialEntries } from "./entries.js";
import { pushValid, TargetPusher } from "./push-targets.js";
import { probePushCaches, skipCached } from "./skip-cached.js";
import { storeLogs } from "./store-logs.js";
import { summarise } from "./summarise.js";
import type { BuildOptions, BuildReport } from "./types.js";
import { watchRealisation } from "./watch-realisation.js";

export async function build(opts: BuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => {});
  const buildable = new Set(buildableSystems(opts.nixConfig ?? (await readNixConfig())));
  const targets = opts.targets ?? (await resolveTargets(opts)).targets;
  const entries = initialEntries(targets, buildable);
  const candidates = entries.filter((e) => e.r.status === "built");

  // Skip cached: what every push cache already holds is neither built nor pushed.
  const health = await probePushCaches(opts.push, candidates.length > 0, emit);
  const toBuild = await skipCached(opts.push, candidates, health);
  emit({
    type: "evaluated",
    targets: targets.length,
    toBuild: toBuild.length,
    cached: candidates.length - toBuild.length,
    notBuiltHere: entries.filter((e) => e.r.status === "not-built-here").length,
  });

  // Watch the realisation, pushing each target as soon as its outputs are valid.
  const pusher = await TargetPusher.start(opts, toBuild.length > 0, health, emit);
  const pending = await pushValid(toBuild, pusher);
  const realised = pending.size > 0 ? await watchRealisation(pending, pusher, opts, emit) : undefined;

  // Attribute failures: what is still pending failed; each failure's log says why.
  const failureLogs = realised
    ? await attributeFailures(pending, realised, pusher, opts, emit)
    : new Map<Target, string[]>();
  await storeLogs(entries, realised?.logs ?? new Map(), failureLogs, { opts, health, pusher, emit });
  await pusher.finished();

  return summarise(
    entries.map((e) => e.r),
    pusher.sessions,
    health,
    opts,
    buildable,
    started,
  );
}
