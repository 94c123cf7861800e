# nixcache built with nixpkgs' buildNpmPackage: the dependencies come from package-lock.json through
# importNpmLock (one fetchurl per package, checked against the lock file's integrity hash), so no
# dependency hash is kept by hand. The native addons (better-sqlite3, zstd-napi) compile from the
# sources in their npm packages against this nodejs (their prebuilt-binary download fails in the
# sandbox, and they fall back to node-gyp); lzma-native loads the prebuilt binary its package ships.
# Not evaluated or built in this repository's CI (no nixpkgs there): see README, "For Nix users".
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs,
}:
let
  root = ../.;
  package = lib.importJSON ../package.json;
in
buildNpmPackage {
  pname = package.name;
  inherit (package) version;
  inherit nodejs;

  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../tsconfig.build.json
      ../bin
      ../src
      ../scripts/build-ui.ts
      ../README.md
      ../LICENSE
    ];
  };

  npmDeps = importNpmLock {
    npmRoot = root;
    packageLock = import ./npm-lock.nix ../package-lock.json;
  };
  npmConfigHook = importNpmLock.npmConfigHook;

  # `npm run build` (tsc, the dashboard's bundle); the install step then copies what `npm pack`
  # would ship (package.json's `files`) and the production dependencies. The build already ran:
  # the pack listing must not run the prepack script again.
  npmBuildScript = "build";
  npmPackFlags = [ "--ignore-scripts" ];

  meta = {
    description = package.description;
    license = lib.licenses.mit;
    mainProgram = "nixcache";
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
  };
}
