// The build itself: one `nix-store --realise` of every pending target's derivation, watched as it
// runs. Each target whose outputs become valid goes to the push at once, while the others still
// build; each derivation's log lines are kept for the report and the caches.
import { mkdir } from "node:fs/promises";
import { invalidPaths, type RealiseResult, realise } from "../local-nix/realise.js";
import type { Target } from "../targets/resolve.js";
import { outputsOf } from "./entries.js";
import type { TargetPusher } from "./push-targets.js";
import type { BuildEvent, BuildOptions, BuildTarget } from "./types.js";

export interface Realised {
  result: RealiseResult;
  /** Each derivation's log lines, by derivation path, of the builds Nix started. */
  logs: Map<string, string[]>;
}

/**
 * Realises `pending` (non-empty); a target leaves it when its outputs are valid and is pushed.
 * What is still in `pending` at the end failed, or was never built because something else did.
 */
export async function watchRealisation(
  pending: Map<Target, BuildTarget>,
  pusher: TargetPusher,
  opts: BuildOptions,
  emit: (e: BuildEvent) => void,
): Promise<Realised> {
  const logs = new Map<string, string[]>();
  await mkdir(opts.logDir, { recursive: true });
  const byDrv = new Map<string, Target>();
  for (const t of pending.keys()) if (t.drvPath) byDrv.set(t.drvPath, t);
  // One validity check in flight; ticks that arrive meanwhile ask for one more afterwards.
  let checking: Promise<void> | undefined;
  let again = false;
  const check = async (): Promise<void> => {
    const waiting = [...pending.keys()];
    if (waiting.length === 0) return;
    const invalid = await invalidPaths(waiting.flatMap(outputsOf));
    for (const t of waiting) {
      const r = pending.get(t);
      if (!r || outputsOf(t).some((o) => invalid.has(o))) continue;
      pending.delete(t);
      pusher.push(t, r);
    }
  };
  const tick = () => {
    if (checking) {
      again = true;
      return;
    }
    checking = check()
      .catch(() => {})
      .finally(() => {
        checking = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  };
  const drvs = [...pending.keys()].map((t) => t.drvPath as string);
  const result = await realise(drvs, {
    keepGoing: opts.keepGoing,
    maxJobs: opts.maxJobs,
    cores: opts.cores,
    signal: opts.signal,
    onEvent: (e) => {
      if (e.type === "tick") tick();
      else if (e.type === "log") {
        const lines = logs.get(e.drv) ?? [];
        if (lines.length === 0) logs.set(e.drv, lines);
        lines.push(e.line);
      } else if (e.type === "build-started") {
        // A build that prints nothing still has a log (an empty one).
        if (!logs.has(e.drv)) logs.set(e.drv, []);
        const t = byDrv.get(e.drv);
        if (t) emit({ type: "target", attr: t.attr, system: t.system, phase: "building" });
      }
    },
  });
  while (checking) await checking;
  await check();
  return { result, logs };
}
