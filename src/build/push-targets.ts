// Pushing each finished target's closure to every push cache that lacks it, while the others
// still build: one push session per cache, each target pushed once.
import { invalidPaths } from "../local-nix/realise.js";
import type { PushSession } from "../push/session.js";
import type { Target } from "../targets/resolve.js";
import { errorCode, errorMessage } from "../util/errors.js";
import { type Entry, outputsOf } from "./entries.js";
import type { CacheHealth } from "./skip-cached.js";
import { UpstreamFilter } from "./trust.js";
import type { BuildEvent, BuildOptions, BuildTarget } from "./types.js";

export class TargetPusher {
  private readonly pushing: Promise<void>[] = [];
  private readonly pushed = new Set<Target>();

  private constructor(
    /** One per push cache, in order; none when nothing is to be pushed. */
    readonly sessions: readonly PushSession[],
    private readonly health: CacheHealth,
    private readonly emit: (e: BuildEvent) => void,
  ) {}

  /** `needed`: whether anything may be pushed (else no session, and the push code is not loaded). */
  static async start(
    opts: BuildOptions,
    needed: boolean,
    health: CacheHealth,
    emit: (e: BuildEvent) => void,
  ): Promise<TargetPusher> {
    const filter = new UpstreamFilter(opts.upstreams ?? []);
    // The push machinery (NAR encoder, codecs) loads only when something is to be pushed.
    const { PushSession } = needed ? await import("../push/session.js") : { PushSession: null };
    const sessions = PushSession
      ? opts.push.map((p, i) => {
          const session = new PushSession(p.cache, {
            ...opts.pushOptions,
            signal: opts.signal,
            exclude: (paths) => filter.served(paths),
            onEvent: (event) => emit({ type: "push", cache: p.cache.url, event }),
          });
          const reason = health.down[i];
          if (reason !== undefined) session.markDown(reason);
          return session;
        })
      : [];
    return new TargetPusher(sessions, health, emit);
  }

  /** Pushes `t` (once) to every cache not marked `already` in `r`, recording each outcome there. */
  push(t: Target, r: BuildTarget): void {
    if (this.pushed.has(t)) return;
    this.pushed.add(t);
    const work = this.sessions.map(async (s, i) => {
      const url = s.cache.url;
      if (r.push[url] === "already") return;
      try {
        const res = await s.add(outputsOf(t));
        const fail = res.failed[0];
        if (fail) r.push[url] = `failed: ${fail.path}: ${fail.error}`;
        else r.push[url] = [...res.outcomes.values()].includes("pushed") ? "pushed" : "already";
      } catch (e) {
        const reason = errorMessage(e);
        if (errorCode(e) === "unavailable" && s.down === reason && !this.health.reported.has(i)) {
          this.health.reported.add(i);
          this.emit({ type: "cache-down", cache: url, reason });
        }
        r.push[url] = `failed: ${reason}`;
      }
    });
    if (this.sessions.length > 0)
      this.emit({ type: "target", attr: t.attr, system: t.system, phase: "pushing" });
    this.pushing.push(
      Promise.all(work).then(() => {
        this.emit({ type: "target", attr: t.attr, system: t.system, phase: "done" });
      }),
    );
  }

  /** Resolves when every push started has ended. */
  async finished(): Promise<void> {
    await Promise.all(this.pushing);
  }
}

/** Targets whose outputs are already valid locally need no build: straight to the push. */
export async function pushValid(
  toBuild: readonly Entry[],
  pusher: TargetPusher,
): Promise<Map<Target, BuildTarget>> {
  const pending = new Map<Target, BuildTarget>();
  if (toBuild.length === 0) return pending;
  const invalid = await invalidPaths(toBuild.flatMap(({ t }) => outputsOf(t)));
  for (const { t, r } of toBuild) {
    if (outputsOf(t).some((o) => invalid.has(o))) pending.set(t, r);
    else pusher.push(t, r);
  }
  return pending;
}
