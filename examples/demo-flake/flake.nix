{
  description = "nixcache demo: a small flake that builds offline (no inputs, /bin/sh builders)";

  outputs = { self }:
    let
      mk = system: name: script: deps: derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" script ];
        PATH = "/usr/bin:/bin";
        inherit deps;
      };
      forSystem = system: rec {
        greeting = mk system "demo-greeting" ''
          mkdir -p $out/share
          echo "hello from nixcache's demo flake" > $out/share/greeting
        '' [ ];
        # Depends on greeting at run time: its closure has two paths.
        hello = mk system "demo-hello" ''
          mkdir -p $out/bin
          printf '#!/bin/sh\ncat %s/share/greeting\n' "$deps" > $out/bin/demo-hello
          chmod +x $out/bin/demo-hello
        '' [ greeting ];
        hello-runs = mk system "demo-check" ''
          ${hello}/bin/demo-hello > $out
        '' [ ];
      };
      linux = forSystem "x86_64-linux";
      darwin = forSystem "aarch64-darwin";
    in {
      packages.x86_64-linux = { inherit (linux) greeting hello; default = linux.hello; };
      packages.aarch64-darwin = { inherit (darwin) greeting hello; default = darwin.hello; };
      checks.x86_64-linux.hello-runs = linux.hello-runs;
      checks.aarch64-darwin.hello-runs = darwin.hello-runs;
    };
}
