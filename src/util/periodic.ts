// Work repeated in the background (sweeps, upstream rechecks, GC): one run at a time (a slow run
// is not overlapped by the next), errors reported rather than thrown, and the timer never keeps
// the process alive. `stop` waits for a run in progress.

export interface Periodic {
  stop(): Promise<void>;
  /** Runs now, unless a run is in progress (then waits for that one). */
  runNow(): Promise<void>;
}

export function every(
  intervalMs: number,
  run: () => Promise<unknown>,
  onError: (e: unknown) => void,
): Periodic {
  let running: Promise<void> | undefined;
  const tick = (): Promise<void> => {
    running ??= run().then(
      () => {
        running = undefined;
      },
      (e: unknown) => {
        running = undefined;
        onError(e);
      },
    );
    return running;
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
    runNow: tick,
  };
}
