# services.nixcache: `nixcache serve --config <file>` as a systemd service. Thin on purpose: the
# file is `settings` rendered as TOML, whose keys are serve's long flag names (`nixcache serve
# --help`), exactly the config file that `nixcache serve --config` reads and its tests check; the
# unit's settings are those of contrib/systemd/nixcache.service. Secrets never go in `settings`
# (the file lands in the world-readable Nix store): `credentialFiles` hands them to the service
# with LoadCredential=, and the server reads $CREDENTIALS_DIRECTORY/<name>.
# Not evaluated in this repository's CI (no nixpkgs there): see README, "For Nix users".
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.nixcache;
  toml = pkgs.formats.toml { };
  # Unset settings are left out of the file: the server's own defaults apply.
  configFile = toml.generate "nixcache-server.toml" (lib.filterAttrs (_: v: v != null) cfg.settings);
  # The secrets the server looks for in $CREDENTIALS_DIRECTORY when their *-file setting is unset.
  credentialNames = [
    "metrics-token"
    "db-password"
    "s3-access-key-id"
    "s3-secret-access-key"
  ];
  port = lib.toInt (lib.last (lib.splitString ":" cfg.settings.listen));
  nullable =
    type: description:
    mkOption {
      type = types.nullOr type;
      default = null;
      inherit description;
    };
in
{
  options.services.nixcache = {
    enable = lib.mkEnableOption "nixcache's binary cache server (`nixcache serve`)";

    package = mkOption {
      type = types.package;
      description = "The nixcache package (the flake's nixosModules.default sets its own).";
    };

    settings = mkOption {
      description = ''
        The settings of `nixcache serve --config`, rendered as its TOML file: each key is a long
        flag name of `nixcache serve --help` (`max-upload = "8G"`, `nar-redirect = true`, ...).
        Options left null are not written, and the server's defaults apply.
      '';
      default = { };
      type = types.submodule {
        freeformType = toml.type;
        options = {
          listen = mkOption {
            type = types.str;
            default = "127.0.0.1:7080";
            description = "Address to listen on, host:port.";
          };
          data = nullable types.str ''
            Data directory (SQLite and blobs). Unset, with db and storage unset too: the service's
            state directory, /var/lib/nixcache.
          '';
          db = nullable types.str "Metadata database URL: sqlite:///path/nixcache.db or postgres://user@host:port/dbname (its password: credentialFiles.db-password).";
          storage = nullable types.str "Blob storage URL: file:///path or s3://BUCKET[/PREFIX]?endpoint=URL&region=R (its keys: credentialFiles.s3-*).";
          public-url = nullable types.str "Base URL clients reach the server at (set it behind a reverse proxy).";
          upstream = nullable (types.listOf types.str) "Upstream caches (server default: https://cache.nixos.org; [] for none).";
          oidc-issuer = nullable (types.listOf types.str) "OIDC issuers whose identity tokens are exchanged for cache tokens, e.g. https://token.actions.githubusercontent.com.";
          gc-interval = nullable types.str "How often the garbage collector runs, e.g. \"1h\"; \"off\" never (server default 60m).";
          metrics-token-file = nullable types.str "File holding the /metrics bearer token (it must be readable by the service's dynamic user; credentialFiles.metrics-token is the usual way).";
        };
      };
    };

    credentialFiles = mkOption {
      # Strings, not paths: a path literal would copy the secret into the world-readable store.
      type = types.attrsOf types.str;
      default = { };
      example = {
        metrics-token = "/run/secrets/nixcache-metrics-token";
      };
      description = ''
        Secret files (absolute paths outside the Nix store, readable by root) handed to the
        service with systemd's LoadCredential=, by credential name:
        ${lib.concatStringsSep ", " credentialNames}. The server reads each from
        $CREDENTIALS_DIRECTORY when the matching *-file setting is unset.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the TCP port of settings.listen in the firewall.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = lib.all (n: lib.elem n credentialNames) (lib.attrNames cfg.credentialFiles);
        message = "services.nixcache.credentialFiles: the server reads only ${lib.concatStringsSep ", " credentialNames}";
      }
    ];

    networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall port;

    # As contrib/systemd/nixcache.service.
    systemd.services.nixcache = {
      description = "nixcache binary cache server";
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      wantedBy = [ "multi-user.target" ];
      # READY=1, STOPPING=1 and WATCHDOG=1 are sent by systemd-notify, a child process.
      path = [ config.systemd.package ];
      environment.NIXCACHE_DATA = "/var/lib/nixcache";
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "all";
        WatchdogSec = "30s";
        ExecStart = "${lib.getExe cfg.package} serve --config ${configFile}";
        TimeoutStopSec = "45s";
        Restart = "on-failure";
        RestartSec = "2s";
        LimitNOFILE = 65536;
        LoadCredential = lib.mapAttrsToList (name: file: "${name}:${file}") cfg.credentialFiles;

        DynamicUser = true;
        StateDirectory = "nixcache";
        StateDirectoryMode = "0700";
        UMask = "0077";

        # No MemoryDenyWriteExecute: Node's JIT writes code.
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateUsers = true;
        NoNewPrivileges = true;
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectProc = "invisible";
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RemoveIPC = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
        ];
        SystemCallErrorNumber = "EPERM";
      };
    };
  };
}
