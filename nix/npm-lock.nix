# package-lock.json with each registry package's tarball URL filled in, for nixpkgs' importNpmLock
# (which fetches what `resolved` names and skips entries without it). The lock file leaves the
# URLs out (npm's omit-lockfile-registry-resolved): npm then fetches
# <registry>/<name>/-/<basename>-<version>.tgz, the URL written here, checked against the
# `integrity` hash the lock file keeps. Builtins only, so that test/e2e/package/nix-files.test.ts evaluates it
# without nixpkgs and compares every URL with the one npm itself fetched.
lockFile:
let
  lock = builtins.fromJSON (builtins.readFile lockFile);
  registry = "https://registry.npmjs.org";
  last = list: builtins.elemAt list (builtins.length list - 1);
  parts = sep: s: builtins.filter builtins.isString (builtins.split sep s);
  # node_modules/a/node_modules/@scope/b -> @scope/b (an alias entry names its real package).
  nameOf = path: entry: entry.name or (last (parts "node_modules/" path));
  tarball = name: version: "${registry}/${name}/-/${last (parts "/" name)}-${version}.tgz";
  withUrl = path: entry:
    if path == "" || entry ? resolved || (entry.link or false) || !(entry ? version) then entry
    else entry // { resolved = tarball (nameOf path entry) entry.version; };
in
lock // { packages = builtins.mapAttrs withUrl lock.packages; }
