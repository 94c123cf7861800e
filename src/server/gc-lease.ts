// The GC's lease: one garbage collection at a time across processes and replicas, as a row of the
// metadata database. It is taken for LEASE_TTL_MS and renewed every LEASE_RENEW_MS by a timer while
// the run goes on, so that a holder that dies (SIGKILL, a crash, a lost machine) keeps the next GC
// out for LEASE_TTL_MS at most, and not at all on its own machine, where its process is seen gone.
import { NixcacheError } from "../util/errors.js";
import { describeHolder, endHolder, holderGone, newHolder } from "./holder.js";
import type { MetadataStore } from "./metadata/store.js";

export const GC_LEASE = "gc";
export const LEASE_TTL_MS = 30_000;
export const LEASE_RENEW_MS = 10_000;

/** Another process holds the GC lease. */
export class GcBusyError extends NixcacheError {
  constructor(holder?: string) {
    super(
      "conflict",
      `another garbage collection is running (${holder === undefined ? "it" : describeHolder(holder)} holds the GC lease): try again later`,
    );
  }
}

export class GcLease {
  private renewedAt: number;
  private lost = false;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    private readonly meta: MetadataStore,
    readonly holder: string,
    takenAt: number,
  ) {
    this.renewedAt = takenAt;
    this.timer = setInterval(() => void this.renew(), LEASE_RENEW_MS);
    this.timer.unref();
  }

  /** Takes the lease, from a holder that is gone too; GcBusyError when another one has it. */
  static async take(meta: MetadataStore): Promise<GcLease> {
    const holder = newHolder();
    const at = Date.now();
    try {
      if (await meta.acquireLease(GC_LEASE, holder, LEASE_TTL_MS)) return new GcLease(meta, holder, at);
      const current = await meta.leaseHolder(GC_LEASE);
      // Its process no longer exists: the lease is free now, not once it expires. Taken only
      // from that holder, so two taking it over at once do not both get it.
      if (
        current !== undefined &&
        holderGone(current) &&
        (await meta.acquireLease(GC_LEASE, holder, LEASE_TTL_MS, current))
      )
        return new GcLease(meta, holder, at);
      throw new GcBusyError(current);
    } catch (e) {
      endHolder(holder);
      throw e;
    }
  }

  private async renew(): Promise<void> {
    const at = Date.now();
    try {
      if (await this.meta.acquireLease(GC_LEASE, this.holder, LEASE_TTL_MS)) this.renewedAt = at;
      else this.lost = true;
    } catch {
      // The database is unreachable: the run's next step fails the same way.
    }
  }

  /**
   * Before each step of the run: renews the lease if the timer could not (an event loop held by a
   * long synchronous query), and throws once it has passed to another GC.
   */
  async hold(): Promise<void> {
    if (!this.lost && Date.now() - this.renewedAt > LEASE_RENEW_MS) await this.renew();
    if (this.lost)
      throw new NixcacheError(
        "conflict",
        `the garbage collection lost its lease (not renewed for ${LEASE_TTL_MS / 1000} s: the process or its database stalled, and another GC took it): stopped, the next run goes on`,
      );
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.meta.releaseLease(GC_LEASE, this.holder).catch(() => {});
    endHolder(this.holder);
  }
}
