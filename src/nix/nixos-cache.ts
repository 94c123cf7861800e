// cache.nixos.org, the binary cache Nix substitutes from by default, and the key it signs with:
// `nixcache build` leaves out what it serves, and the server counts those paths as present.
export const NIXOS_CACHE = "https://cache.nixos.org";
export const NIXOS_CACHE_KEY = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";
