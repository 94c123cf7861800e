// Who holds a lease or a blob claim (metadata leases and blob_claims rows): the machine, its PID
// namespace and the process, plus a random part for each piece of work. Another process on the same
// machine can then tell that the holder is gone (killed, crashed) and need not wait for its TTL;
// one elsewhere cannot, and waits for the TTL, which the holder renews while it works.
import { randomBytes } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

/** Two containers may share a host name (host networking) but not a PID namespace. */
function pidNamespace(): string {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
}

const HOST = hostname();
const NAMESPACE = pidNamespace();
/** Holders of this process whose work has not ended: a finished one is gone though its process lives. */
const active = new Set<string>();

/** A new holder for one piece of work of this process; `endHolder` when the work is over. */
export function newHolder(): string {
  const h = [HOST, NAMESPACE, process.pid, randomBytes(6).toString("hex")].join("|");
  active.add(h);
  return h;
}

export function endHolder(holder: string): void {
  active.delete(holder);
}

function parse(holder: string): { host: string; namespace: string; pid: number } | undefined {
  const parts = holder.split("|");
  if (parts.length !== 4) return undefined;
  const pid = Number(parts[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { host: parts[0] as string, namespace: parts[1] as string, pid };
}

/** Whether process `pid` of this namespace exists (a zombie, killed but not yet reaped, does not). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, as another user's.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/**
 * Whether the holder is known to be gone: of this machine and PID namespace, and its process no
 * longer exists (or it is this process and its work has ended). False when it cannot be told
 * (another machine, a holder written by an older nixcache): then only its TTL frees what it holds.
 */
export function holderGone(holder: string): boolean {
  const h = parse(holder);
  if (!h || h.host !== HOST || h.namespace !== NAMESPACE) return false;
  if (h.pid === process.pid) return !active.has(holder);
  return !processExists(h.pid);
}

/** The holder in words, for messages: "process 1234 on host-a". */
export function describeHolder(holder: string): string {
  const h = parse(holder);
  return h ? `process ${h.pid} on ${h.host}` : JSON.stringify(holder);
}
