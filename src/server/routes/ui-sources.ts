// What the dashboard shows that other parts of the server own: quotas, retention and GC runs, pins
// and per-path last access (the GC), OIDC trust rules. Each is optional; a source left out makes
// its field absent from the API (and its section absent from the page).
import type { Pin, TrustRuleView } from "../../ui-api/types.js";
import type { MetadataStore } from "../metadata/store.js";

export interface DashboardSources {
  quotaBytes?(cache: string): Promise<number | null>;
  /** How long unpinned paths are kept (ms), null: forever. */
  retentionMs?(cache: string): Promise<number | null>;
  lastGc?(cache: string): Promise<{ lastRunAt: number; freedBytes: number; pathsDeleted: number } | null>;
  pins?(cache: string): Promise<Pin[]>;
  /** Names of the pins whose closure keeps the path. */
  pinsKeeping?(cache: string, hash: string): Promise<string[]>;
  lastAccess?(cache: string, hash: string): Promise<number | null>;
  trustRules?(cache: string): Promise<TrustRuleView[]>;
}

/**
 * The sources this server has: trust rules. Pins, GC runs, retention, quotas and last access (the
 * gc branch) are wired here once their MetadataStore methods exist.
 */
export function dashboardSources(meta: MetadataStore): DashboardSources {
  return {
    trustRules: async (cache) =>
      (await meta.trustRules({ cache })).map((r) => ({
        issuer: r.issuer,
        subject: r.subject,
        ...(Object.keys(r.claims).length > 0 ? { claims: r.claims } : {}),
        perm: r.perm,
      })),
  };
}
