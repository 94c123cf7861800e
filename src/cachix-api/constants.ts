// Constants of the Cachix API that need no schema library (cheap to import at start-up).

/** Cachix's own API. */
export const DEFAULT_CACHIX_API = "https://app.cachix.org/api/v1";
