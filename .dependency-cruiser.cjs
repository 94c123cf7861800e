// The layering of src/, written down once (README "Development" draws it). Each folder may import
// only the folders listed for it (and itself); index.ts, the public API, may import anything.
// Arrows point one way:
//   cli, action → flags → (build, ci, doctor, migrate, github, server, cachix-admin) → (push, verify, report, targets, secrets)
//   → caches → (codec, http, local-nix, cachix-api, keys) → (nix, util)
// `npm test` runs `depcruise src` (scripts/test.sh): an upward import or a cycle fails it.
const base = ["nix", "util"];
const io = ["codec", "http", "local-nix", "cachix-api", "ui-api", "keys"];
const library = ["push", "verify", "report", "targets", "secrets"];
const below = (...layers) => layers.flat();

/** folder → the folders it may import. */
const allowed = {
  util: [],
  nix: ["util"],
  codec: base,
  http: base,
  "local-nix": base,
  "cachix-api": base,
  // The dashboard's wire types (its JSON API, the CI report upload): server, clients and the page.
  "ui-api": [],
  keys: base,
  caches: below(io, base),
  push: below(library, "caches", io, base),
  verify: below(library, "caches", io, base),
  report: below(library, "caches", io, base),
  targets: below(library, "caches", io, base),
  // Secret sources (dotenv, JSON, env, age, agenix): read files and evaluate secrets.nix with Nix;
  // beside targets so that github (the sync), doctor and migrate can all read them.
  secrets: below(io, base),
  build: ["push", "verify", "report", "targets", "caches", "local-nix", "keys", "ui-api", "util", "nix"],
  // The embedded default of `ci` starts and administers nixcache's own server (a sibling layer).
  ci: [
    "build",
    "server",
    "push",
    "verify",
    "report",
    "targets",
    "caches",
    "local-nix",
    "ui-api",
    "keys",
    "util",
    "nix",
  ],
  doctor: below(library, "caches", io, base),
  // migrate composes the other commands' libraries: provisioning (cachix-admin), secrets and workflows
  // (github), flake.nix edits (doctor). None of them imports migrate.
  migrate: below(["doctor", "github", "cachix-admin"], library, "caches", io, base),
  github: below(library, "caches", io, base),
  // Token inspection and provisioning through the Cachix API (the API client and the cachix://
  // cache driver are in caches/cachix/, the wire types in cachix-api/).
  "cachix-admin": below(library, "caches", io, base),
  server: ["codec", "cachix-api", "ui-api", "http", "nix", "util"],
  // The dashboard's page, bundled for the browser: nothing of Node's, only the wire types.
  ui: ["ui-api"],
  // The flag table of build, ci, verify and push, and the one mapping of its values to the build's
  // setup: the CLI builds its commander options from it, the Action its extra-args parser.
  flags: below(["build"], library, "caches", io, base),
  cli: below(
    ["flags", "build", "ci", "doctor", "migrate", "github", "server", "cachix-admin"],
    library,
    "caches",
    io,
    base,
  ),
  // The Action runs on GitHub's runners from a bundle that must carry no native addon: never the
  // server (SQLite, fastify). Its bundle test checks the same from the output side.
  action: below(
    ["flags", "build", "ci", "doctor", "migrate", "github", "cachix-admin"],
    library,
    "caches",
    io,
    base,
  ),
};

const folders = Object.keys(allowed);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "A cycle makes two modules one; break it with a shared lower module.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    ...folders.map((f) => ({
      name: `layer-${f}`,
      comment: `src/${f}/ may import only: ${allowed[f].join(", ") || "nothing of src/"} (see .dependency-cruiser.cjs).`,
      severity: "error",
      from: { path: `^src/${f}/` },
      to: { path: "^src/", pathNot: `^src/(${[f, ...allowed[f]].join("|")})/` },
    })),
    {
      name: "layer-unknown-folder",
      comment: "A new folder of src/ must be given its place in the layering first.",
      severity: "error",
      from: { path: `^src/(?!(${folders.join("|")})/)[^/]+/` },
      to: { path: "^src/" },
    },
    {
      name: "only-index-imports-index",
      comment: "src/index.ts is the public API: the library does not import it.",
      severity: "error",
      from: { path: "^src/.+/" },
      to: { path: "^src/index\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    // TypeScript 7 has no JavaScript API for dependency-cruiser to parse with: swc parses instead
    // (type-only imports count too). "./x.js" resolves to "./x.ts" as tsc resolves it.
    parser: "swc",
    tsPreCompilationDeps: true,
  },
};
