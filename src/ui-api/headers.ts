// The HTTP headers nixcache's client and server agree on beyond Nix's own protocol.

/** Set on nix-cache-info: this is a nixcache server (its dashboard API and report upload exist). */
export const NIXCACHE_SERVER_HEADER = "x-nixcache-server";
/** The header clients name their CI run in (`nixcache push`/`build`/`ci` under CI). */
export const RUN_HEADER = "x-nixcache-run";
/** Set on a stored build log's PUT answer: the log's page on the dashboard. */
export const LOG_PAGE_HEADER = "x-nixcache-log-page";
