import type { BuildEvent } from "../build/types.js";
import { formatBytes } from "../util/bytes.js";

/**
 * Renders build events: on a terminal one live status line (targets queued / building /
 * pushing / done / failed, bytes pushed); elsewhere (CI logs) one plain line per change.
 */
export class BuildProgress {
  private readonly phase = new Map<string, string>();
  private bytes = 0;
  private total = 0;
  private lineShown = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly tty: boolean,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {
    if (tty) this.timer = setInterval(() => this.draw(), 250).unref();
  }

  event(e: BuildEvent): void {
    switch (e.type) {
      case "evaluated":
        this.total = e.toBuild;
        this.print(
          `${e.targets} targets: ${e.cached} already cached, ${e.toBuild} to build` +
            (e.notBuiltHere ? `, ${e.notBuiltHere} for systems this machine does not build` : ""),
        );
        return;
      case "target": {
        const key = `${e.attr} (${e.system})`;
        this.phase.set(key, e.phase);
        if (!this.tty) this.print(`${e.phase} ${key}`);
        else if (e.phase === "failed") this.print(`FAILED ${key}`);
        return;
      }
      case "log-refused":
        this.print(
          `warning: ${e.cache} did not take a build log: ${e.reason} (logs are not sent there again; the build goes on)`,
        );
        return;
      case "cache-down":
        this.print(`push cache ${e.cache} failed: ${e.reason} (other caches still receive every output)`);
        return;
      case "push":
        if (e.event.type === "progress") this.bytes += e.event.narBytes;
        else if (e.event.type === "failed" && !this.tty)
          this.print(`push to ${e.cache} failed for ${e.event.path}: ${e.event.error}`);
        else if (e.event.type === "pushed" && !this.tty)
          this.print(`pushed ${e.event.path} to ${e.cache} (${formatBytes(e.event.fileSize)})`);
        return;
    }
  }

  private counts(): string {
    const c = { building: 0, pushing: 0, done: 0, failed: 0 };
    for (const p of this.phase.values()) c[p as keyof typeof c]++;
    const queued = Math.max(0, this.total - c.building - c.pushing - c.done - c.failed);
    return (
      `${queued} queued · ${c.building} building · ${c.pushing} pushing · ${c.done} done · ` +
      `${c.failed} failed | ${formatBytes(Math.max(0, this.bytes))} pushed`
    );
  }

  private print(line: string): void {
    this.clear();
    this.out.write(`nixcache: ${line}\n`);
    this.draw();
  }

  private clear(): void {
    if (this.lineShown) this.out.write("\r\u001b[2K");
    this.lineShown = false;
  }

  private draw(): void {
    if (!this.tty || this.total === 0) return;
    this.clear();
    this.out.write(this.counts());
    this.lineShown = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}
