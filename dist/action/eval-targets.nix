# nixcache's flake evaluator: lists a flake's candidate attributes, selects with garnix.yaml's rules
# and evaluates every selected one, in one `nix eval` process and without building. The spec (JSON
# in $NIXCACHE_EVAL_SPEC) says what to do, so nothing is escaped into Nix code; src/local-nix/
# flake-eval.ts writes it and checks the JSON this returns. The selection mirrors
# src/targets/select.ts, and the caller cross-checks the two.
# `tryEval` catches `throw`/`assert` only; other errors abort the process and the caller bisects.
let
  spec = builtins.fromJSON (builtins.getEnv "NIXCACHE_EVAL_SPEC");
  flake = builtins.getFlake spec.flake;
  # The systems and output kinds to look under come from the caller (one list each, in
  # src/targets/select.ts).
  systems = spec.candidates.systems;
  names = v: if builtins.isAttrs v then builtins.attrNames v else [ ];
  has = n: builtins.hasAttr n flake && builtins.isAttrs flake.${n};
  perSysSet = k: if has k then builtins.concatMap (s:
    if builtins.hasAttr s flake.${k} then map (n: [ k s n ]) (names flake.${k}.${s}) else [ ]) systems else [ ];
  perSysOne = k: if has k then builtins.concatMap (s:
    if builtins.hasAttr s flake.${k} then [ [ k s ] ] else [ ]) systems else [ ];
  configs = k: if has k then map (n: [ k n ]) (names flake.${k}) else [ ];
  isConfig = p: builtins.elem (builtins.head p) spec.candidates.configurations;
  # Garnix read `nix eval <repo>#garnix.config --json` before garnix.yaml. When the spec names that
  # flake and it has the output, its JSON comes back (caught errors as null) and no target is
  # evaluated: the caller selects again with it. Modes "config" / "has-config" only ask for it.
  cfgFlake = if (spec.configFlake or null) == null then null
    else if spec.configFlake == spec.flake then flake
    else builtins.getFlake spec.configFlake;
  hasConfig = cfgFlake != null && builtins.hasAttr "garnix" cfgFlake
    && builtins.isAttrs cfgFlake.garnix && builtins.hasAttr "config" cfgFlake.garnix;
  configJson = if spec.catch
    then (let r = builtins.tryEval (builtins.toJSON cfgFlake.garnix.config); in if r.success then r.value else null)
    else builtins.toJSON cfgFlake.garnix.config;
  config = if !hasConfig then null else { json = if spec.mode == "has-config" then null else configJson; };
  noTargets = hasConfig || spec.mode == "config" || spec.mode == "has-config";
  candidates = if spec.mode == "paths" || noTargets then [ ] else
    builtins.concatMap perSysSet spec.candidates.perSystemSets
    ++ builtins.concatMap perSysOne spec.candidates.perSystemSingles
    ++ builtins.concatMap configs spec.candidates.configurations;
  matches = pat: p: builtins.length pat == builtins.length p
    && builtins.all (i: builtins.elemAt pat i == "*" || builtins.elemAt pat i == builtins.elemAt p i)
      (builtins.genList (i: i) (builtins.length p));
  inSection = sec: p: builtins.any (pat: matches pat p) sec.include && !(builtins.any (pat: matches pat p) sec.exclude);
  systemOk = p: spec.systems == null || isConfig p || builtins.elem (builtins.elemAt p 1) spec.systems;
  selected = if noTargets then [ ] else if spec.mode == "paths" then spec.paths else
    builtins.filter (p: systemOk p && builtins.any (sec: inSection sec p) spec.sections) candidates;
  attrAt = p: builtins.foldl' (v: n: v.${n}) flake p;
  drvOf = p: let v = attrAt p; k = builtins.head p; in
    if k == "nixosConfigurations" then v.config.system.build.toplevel
    else if k == "darwinConfigurations" then v.system
    else if k == "homeConfigurations" then v.activationPackage
    else v;
  info = p: let
    d = drvOf p;
    outNames = d.outputs or [ "out" ];
    main = if builtins.elem "out" outNames then "out" else builtins.head outNames;
  in if (d.type or null) != "derivation" then throw "${builtins.concatStringsSep "." p} is not a derivation" else {
    name = d.name;
    system = d.system;
    drvPath = d.drvPath;
    # Not "outPath": toJSON would print an attrset with outPath as just that string.
    mainOut = d.${main}.outPath;
    outputs = builtins.listToAttrs (map (o: { name = o; value = d.${o}.outPath; }) outNames);
  };
  evalOne = p: if spec.catch
    then (let r = builtins.tryEval (let i = info p; in builtins.deepSeq i i); in if r.success then r.value else null)
    else info p;
in {
  inherit candidates selected config;
  results = if spec.mode == "list" then [ ] else map evalOne selected;
}
