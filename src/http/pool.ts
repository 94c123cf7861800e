import { Pool } from "undici";

export interface PoolOptions {
  /** Connections kept open to the origin (default 16); requests beyond wait their turn. */
  connections?: number;
}

/**
 * A keep-alive connection pool to one origin, with the timeouts every nixcache client uses: idle
 * sockets kept 30 s, two minutes for headers and between body bytes (large NARs upload slowly).
 */
export function createPool(origin: string, opts: PoolOptions = {}): Pool {
  return new Pool(origin, {
    connections: opts.connections ?? 16,
    keepAliveTimeout: 30_000,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
}

/** Pools per origin, made on first use (an API and its presigned upload URLs may differ). */
export class Pools {
  private readonly pools = new Map<string, Pool>();
  constructor(private readonly opts: PoolOptions = {}) {}

  get(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = createPool(origin, this.opts);
      this.pools.set(origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
