// Running under systemd: the notify protocol (sd_notify: READY=1, STOPPING=1, WATCHDOG=1 on the
// unix datagram socket $NOTIFY_SOCKET) and socket activation (sd_listen_fds: $LISTEN_FDS sockets
// from fd 3 on, for the process $LISTEN_PID).
//
// Node has no unix datagram sockets, so messages are sent by systemd's own `systemd-notify`, which
// is installed wherever systemd sets $NOTIFY_SOCKET. It runs as another process, so the unit needs
// `NotifyAccess=all`; it waits until the manager has taken the message (a barrier), so the message
// is attributed to the service even though its sender exits at once. A native addon was the other
// way; it would need a compiler wherever nixcache is installed, for three short messages.
import { execFile } from "node:child_process";

/** The first socket systemd passed, when it passed any to this process. */
export interface ActivationSocket {
  fd: number;
  /** How many were passed (only the first is served). */
  count: number;
  /** Their names (`FileDescriptorName=`), when given. */
  names: string[];
}

/** The first file descriptor of socket activation (`SD_LISTEN_FDS_START`). */
export const LISTEN_FDS_START = 3;

/** sd_listen_fds: the sockets in $LISTEN_FDS, when $LISTEN_PID is this process. */
export function activationSocket(
  env: NodeJS.ProcessEnv = process.env,
  pid = process.pid,
): ActivationSocket | undefined {
  const count = Number(env.LISTEN_FDS);
  if (!env.LISTEN_FDS || !Number.isInteger(count) || count < 1) return undefined;
  // Set for another process (a parent that did not clear them): not ours.
  if (env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) !== pid) return undefined;
  return { fd: LISTEN_FDS_START, count, names: env.LISTEN_FDNAMES ? env.LISTEN_FDNAMES.split(":") : [] };
}

/** Removes the activation variables, so that no child process takes the sockets for its own. */
export function clearActivationEnv(env: NodeJS.ProcessEnv = process.env): void {
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
}

/**
 * How often to send WATCHDOG=1: half of $WATCHDOG_USEC, when it is set for this process
 * ($WATCHDOG_PID unset or this process).
 */
export function watchdogIntervalMs(
  env: NodeJS.ProcessEnv = process.env,
  pid = process.pid,
): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid)
    return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface NotifierOptions {
  /** The program that sends a message (default `systemd-notify`, found on PATH). */
  command?: string;
  /** Told when a message could not be sent (once per kind of failure). */
  onError?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
  pid?: number;
}

/** Sends the service's state to systemd, in order; a failure is reported, never thrown. */
export class SystemdNotifier {
  private chain: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private readonly reported = new Set<string>();

  private constructor(
    readonly socket: string,
    private readonly opts: NotifierOptions,
  ) {}

  /** A notifier when $NOTIFY_SOCKET is set, else undefined (not run by systemd with Type=notify). */
  static fromEnv(opts: NotifierOptions = {}): SystemdNotifier | undefined {
    const socket = (opts.env ?? process.env).NOTIFY_SOCKET;
    return socket ? new SystemdNotifier(socket, opts) : undefined;
  }

  /** Queues one message of `KEY=value` lines; resolves once it was sent (or failed). */
  notify(...assignments: string[]): Promise<void> {
    const send = () => this.send(assignments);
    this.chain = this.chain.then(send, send);
    return this.chain;
  }

  /** READY=1: the server listens and its database is open. */
  ready(status: string): Promise<void> {
    return this.notify("READY=1", `STATUS=${status}`, `MAINPID=${this.opts.pid ?? process.pid}`);
  }

  /** STOPPING=1: shutdown has begun (in-flight uploads are finishing). */
  stopping(status = "stopping: finishing in-flight requests"): Promise<void> {
    return this.notify("STOPPING=1", `STATUS=${status}`);
  }

  /** Sends WATCHDOG=1 every WatchdogSec/2 when systemd asked for it; returns the interval. */
  startWatchdog(): number | undefined {
    const ms = watchdogIntervalMs(this.opts.env, this.opts.pid);
    if (ms === undefined || this.watchdog) return ms;
    void this.notify("WATCHDOG=1");
    this.watchdog = setInterval(() => void this.notify("WATCHDOG=1"), ms);
    this.watchdog.unref();
    return ms;
  }

  stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** Waits for the messages queued so far. */
  flush(): Promise<void> {
    return this.chain;
  }

  private send(assignments: string[]): Promise<void> {
    const command = this.opts.command ?? "systemd-notify";
    return new Promise((resolve) => {
      execFile(
        command,
        assignments,
        { env: { ...(this.opts.env ?? process.env), NOTIFY_SOCKET: this.socket }, timeout: 10_000 },
        (err, _stdout, stderr) => {
          if (err) {
            const code = (err as NodeJS.ErrnoException).code;
            const why =
              code === "ENOENT"
                ? `${command} is not on PATH: systemd is not told the server's state (install systemd's tools or use Type=simple)`
                : `${command} ${assignments[0]} failed: ${String(stderr).trim() || err.message}`;
            const kind = code === "ENOENT" ? "ENOENT" : (assignments[0] ?? "");
            if (!this.reported.has(kind)) {
              this.reported.add(kind);
              this.opts.onError?.(why);
            }
          }
          resolve();
        },
      );
    });
  }
}
