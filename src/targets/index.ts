export { DEFAULT_INCLUDE, GarnixConfigError, parseGarnixConfig, parsePattern } from "./garnix-config.js";
export { type ResolvedTargets, type ResolveOptions, resolveTargets, type Target } from "./resolve.js";
export { attrText, isCandidate, matchPattern, selectPaths } from "./select.js";
