// `nixcache serve`'s configuration: every setting from the TOML file (`--config`), from its
// NIXCACHE_* variable and from its flag, with flag > environment > file > default; each kind of
// mistake a usage error naming the key and the file's line; secrets only from files, systemd
// credentials or (the metrics token) its variable; `--print-config` loading back to the same.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { embeddedServerEnv } from "../../../src/ci/embedded.js";
import { NIXOS_CACHE_KEY } from "../../../src/nix/nixos-cache.js";
import {
  type ConfigInputs,
  type EffectiveConfig,
  loadConfig,
  type Raw,
} from "../../../src/server/config/load.js";
import { resolveServeConfig } from "../../../src/server/config/options.js";
import { printConfig } from "../../../src/server/config/print.js";
import { envName, SETTINGS } from "../../../src/server/config/settings.js";
import { runCli } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/nix.js";
import { serve } from "../../helpers/serve.js";

const dir = tempDir("nixcache-config-");
after(() => dir.cleanup());

/** A file in the test's directory. */
function file(name: string, content: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const secrets = {
  db: file("db-password", "pg-secret-1\n"),
  keyId: file("s3-key-id", "AKIAEXAMPLE\n"),
  secretKey: file("s3-secret", "s3-secret-value-1\n"),
  metrics: file("metrics-token", "metrics-token-0123456789\nignored second line\n"),
};

/**
 * A value for every setting, none its default, valid together: as TOML, as its variable, and as
 * the loaded value. A setting added to the table without a line here fails the first test.
 */
const SAMPLE: Record<string, { toml: string; env: string; raw: Raw }> = {
  data: { toml: '"/srv/nixcache"', env: "/srv/nixcache", raw: "/srv/nixcache" },
  db: {
    toml: '"sqlite:///srv/db/nixcache.db"',
    env: "sqlite:///srv/db/nixcache.db",
    raw: "sqlite:///srv/db/nixcache.db",
  },
  storage: { toml: '"file:///srv/blobs"', env: "file:///srv/blobs", raw: "file:///srv/blobs" },
  "db-password-file": { toml: JSON.stringify(secrets.db), env: secrets.db, raw: secrets.db },
  "s3-access-key-id-file": { toml: JSON.stringify(secrets.keyId), env: secrets.keyId, raw: secrets.keyId },
  "s3-secret-access-key-file": {
    toml: JSON.stringify(secrets.secretKey),
    env: secrets.secretKey,
    raw: secrets.secretKey,
  },
  listen: { toml: '"[::1]:7443"', env: "[::1]:7443", raw: "[::1]:7443" },
  "public-url": {
    toml: '"https://cache.example.org/"',
    env: "https://cache.example.org/",
    raw: "https://cache.example.org/",
  },
  "max-upload": { toml: '"512M"', env: "512M", raw: "512M" },
  "max-nar-size": { toml: "2147483648", env: "2147483648", raw: "2147483648" },
  "max-log-size": { toml: '"1M"', env: "1M", raw: "1M" },
  "stall-timeout": { toml: '"2m"', env: "2m", raw: "2m" },
  "max-connections-per-client": { toml: "8", env: "8", raw: "8" },
  "max-connections": { toml: "500", env: "500", raw: "500" },
  "max-open-uploads": { toml: "7", env: "7", raw: "7" },
  "sweep-interval": { toml: '"5m"', env: "5m", raw: "5m" },
  "pending-expiry": { toml: '"3d"', env: "3d", raw: "3d" },
  "gc-interval": { toml: '"off"', env: "off", raw: "off" },
  "gc-grace": { toml: '"2h"', env: "2h", raw: "2h" },
  "metrics-token-file": { toml: JSON.stringify(secrets.metrics), env: secrets.metrics, raw: secrets.metrics },
  upstream: {
    toml: '["https://up.example.org", "https://cache.nixos.org/"]',
    env: "https://up.example.org https://cache.nixos.org/",
    raw: ["https://up.example.org", "https://cache.nixos.org/"],
  },
  "upstream-key": { toml: `["${NIXOS_CACHE_KEY}"]`, env: NIXOS_CACHE_KEY, raw: [NIXOS_CACHE_KEY] },
  "nar-redirect": { toml: "true", env: "yes", raw: true },
  "oidc-issuer": {
    toml: '["https://token.actions.githubusercontent.com"]',
    env: "https://token.actions.githubusercontent.com",
    raw: ["https://token.actions.githubusercontent.com"],
  },
  "oidc-audience": { toml: '["aud-1", "aud-2"]', env: "aud-1,aud-2", raw: ["aud-1", "aud-2"] },
  "oidc-token-ttl": { toml: '"2h"', env: "2h", raw: "2h" },
  "oidc-max-token-age": { toml: '"10m"', env: "10m", raw: "10m" },
  "oidc-exchanges-per-minute": { toml: "20", env: "20", raw: "20" },
  quiet: { toml: "true", env: "1", raw: true },
  workers: { toml: "3", env: "3", raw: "3" },
};

/** What SAMPLE configures, as server options. */
const SAMPLE_OPTIONS = {
  dataDir: "/srv/nixcache",
  db: "sqlite:///srv/db/nixcache.db",
  storage: "file:///srv/blobs",
  dbPassword: "pg-secret-1",
  s3Credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3-secret-value-1" },
  host: "::1",
  port: 7443,
  upstreams: [
    { url: "https://up.example.org", keys: [NIXOS_CACHE_KEY] },
    { url: "https://cache.nixos.org", keys: [NIXOS_CACHE_KEY] },
  ],
  narRedirect: true,
  publicUrl: "https://cache.example.org",
  maxUploadBytes: 512 * 1024 ** 2,
  maxNarBytes: 2 * 1024 ** 3,
  maxLogBytes: 1024 ** 2,
  noProgressTimeoutMs: 120_000,
  maxConnectionsPerClient: 8,
  maxConnections: 500,
  maxOpenUploads: 7,
  sweepIntervalMs: 300_000,
  pendingExpiryMs: 3 * 86_400_000,
  gcIntervalMs: 0,
  gcGraceMs: 7_200_000,
  metricsToken: "metrics-token-0123456789",
  oidcIssuers: [{ issuer: "https://token.actions.githubusercontent.com", audiences: ["aud-1", "aud-2"] }],
  oidcTokenTtlMs: 7_200_000,
  oidcMaxTokenAgeMs: 600_000,
  oidcExchangesPerMinute: 20,
};

/** The sample as a config file: a comment, then each key on its own line (line = index + 2). */
function sampleToml(): string {
  return `# every setting\n${SETTINGS.map((s) => `${s.name} = ${SAMPLE[s.name]?.toml}`).join("\n")}\n`;
}

/** The loaded values without where they came from. */
function raws(cfg: EffectiveConfig): Record<string, Raw> {
  return Object.fromEntries([...cfg].map(([k, v]) => [k, v.raw]));
}

/** The effective config's usage error, or fails. */
function usageError(inputs: ConfigInputs, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveServeConfig(loadConfig({ env, ...inputs }), env);
  } catch (e) {
    assert.equal((e as { code?: string }).code, "usage", String(e));
    return (e as Error).message;
  }
  assert.fail(`no error for ${JSON.stringify(inputs)}`);
}

describe("serve's settings: file, environment, flags", () => {
  test("every setting is read from the config file, on its line, in its type", () => {
    assert.deepEqual(Object.keys(SAMPLE).sort(), SETTINGS.map((s) => s.name).sort());
    const path = file("all.toml", sampleToml());
    const cfg = loadConfig({ file: path, env: {} });
    SETTINGS.forEach((s, i) => {
      const v = cfg.get(s.name);
      assert.deepEqual(v?.raw, SAMPLE[s.name]?.raw, s.name);
      assert.deepEqual(v?.origin, { from: "file", file: path, line: i + 2 }, s.name);
    });
    const resolved = resolveServeConfig(cfg, {});
    assert.deepEqual(resolved.server, SAMPLE_OPTIONS);
    assert.equal(resolved.workers, 3);
    assert.equal(resolved.quiet, true);
  });

  test("every setting comes from its NIXCACHE_ variable (lists split on spaces or commas)", () => {
    const env = Object.fromEntries(SETTINGS.map((s) => [envName(s.name), SAMPLE[s.name]?.env]));
    assert.equal(envName("public-url"), "NIXCACHE_PUBLIC_URL");
    const cfg = loadConfig({ env });
    for (const s of SETTINGS) {
      assert.deepEqual(cfg.get(s.name)?.raw, SAMPLE[s.name]?.raw, s.name);
      assert.deepEqual(cfg.get(s.name)?.origin, { from: "env", variable: envName(s.name) });
    }
    assert.deepEqual(resolveServeConfig(cfg, env).server, SAMPLE_OPTIONS);
    // Empty is unset: the default applies.
    assert.equal(loadConfig({ env: { NIXCACHE_LISTEN: "" } }).get("listen")?.origin.from, "default");
  });

  test("precedence for every setting: flag > environment > file > default", () => {
    const path = file("precedence.toml", sampleToml());
    for (const s of SETTINGS) {
      const sample = SAMPLE[s.name] as (typeof SAMPLE)[string];
      const env = { [envName(s.name)]: sample.env };
      const flags = { [s.name]: sample.raw };
      assert.equal(loadConfig({ flags, env, file: path }).get(s.name)?.origin.from, "flag", s.name);
      assert.equal(loadConfig({ env, file: path }).get(s.name)?.origin.from, "env", s.name);
      assert.equal(loadConfig({ env: {}, file: path }).get(s.name)?.origin.from, "file", s.name);
      const none = loadConfig({ env: {} }).get(s.name);
      if (s.default === undefined) assert.equal(none, undefined, s.name);
      else assert.deepEqual(none, { setting: s, raw: s.default, origin: { from: "default" } }, s.name);
    }
    // The values, not only the origins: one setting given three ways.
    const three = loadConfig({
      flags: { "gc-grace": "1m" },
      env: { NIXCACHE_GC_GRACE: "2m", NIXCACHE_MAX_UPLOAD: "3G" },
      file: file("three.toml", 'gc-grace = "3m"\nmax-upload = "4G"\nquiet = true\n'),
    });
    assert.deepEqual(
      [three.get("gc-grace")?.raw, three.get("max-upload")?.raw, three.get("quiet")?.raw],
      ["1m", "3G", true],
    );
    assert.equal(three.get("listen")?.raw, "127.0.0.1:7080");
  });

  test("each mistake is a usage error naming the key and the file's line (or the variable)", () => {
    const cases: Array<[string, RegExp]> = [
      [
        'listen = "127.0.0.1:7080"\n\nfrobnicate = 1\n',
        /bad\.toml:3: frobnicate: unknown key .*serve --help/,
      ],
      ["[serve]\nlisten = 1\n", /bad\.toml:1: unknown table \[serve\]/],
      ["listen = 7080\n", /bad\.toml:1: listen must be a string, not an integer/],
      ["max-upload = true\n", /bad\.toml:1: max-upload must be a size: .*, not a boolean/],
      ['max-open-uploads = "7"\n', /bad\.toml:1: max-open-uploads must be an integer, not a string/],
      ['workers = "many"\n', /bad\.toml:1: workers must be an integer or "auto", not a string/],
      ['quiet = "yes"\n', /bad\.toml:1: quiet must be true or false, not a string/],
      ['upstream = "https://x.example"\n', /bad\.toml:1: upstream must be an array of strings, not a string/],
      ["oidc-audience = [1]\n", /bad\.toml:1: oidc-audience must be an array of strings, not an array/],
      ["gc-grace = 1979-05-27\n", /bad\.toml:1: gc-grace must be a string, not a date/],
      ['\nlisten = "nope"\n', /bad\.toml:2: listen "nope" is not HOST:PORT/],
      ['max-upload = "lots"\n', /bad\.toml:1: max-upload "lots" is not a size like 512M or 8G/],
      ['stall-timeout = "soon"\n', /bad\.toml:1: stall-timeout "soon" is not a duration/],
      ["max-open-uploads = 0\n", /bad\.toml:1: max-open-uploads "0" must be a whole number ≥ 1/],
      ["workers = 0\n", /bad\.toml:1: workers "0" must be a number from 1 to 256, or auto/],
      ['gc-interval = "500ms"\n', /bad\.toml:1: gc-interval must be at least 1s \(or 0\/off\)/],
      ['sweep-interval = "0"\n', /bad\.toml:1: sweep-interval must be at least 1s/],
      ['pending-expiry = "30s"\n', /bad\.toml:1: pending-expiry must be at least 1m/],
      [
        'public-url = "ftp://x.example"\n',
        /bad\.toml:1: public-url "ftp:\/\/x\.example" is not an http\(s\) URL/,
      ],
      [
        'upstream = ["https://x.example"]\n',
        /bad\.toml:1: upstream https:\/\/x\.example needs --upstream-key/,
      ],
      ['upstream-key = ["k:v"]\n', /bad\.toml:1: upstream-key needs --upstream/],
      ['oidc-issuer = ["http://insecure.example"]\n', /bad\.toml:1: oidc-issuer: .*https/],
      ['oidc-audience = ["a"]\n', /bad\.toml:1: oidc-audience needs oidc-issuer/],
      [
        'oidc-issuer = ["https://token.actions.githubusercontent.com"]\noidc-token-ttl = "2d"\n',
        /bad\.toml:2: oidc-token-ttl must be from 1m to 24h/,
      ],
      [
        'oidc-issuer = ["https://token.actions.githubusercontent.com"]\noidc-max-token-age = "2d"\n',
        /bad\.toml:2: oidc-max-token-age must be from 1m to 24h/,
      ],
      ['oidc-max-token-age = "5m"\n', /bad\.toml:1: oidc-max-token-age needs oidc-issuer/],
      ['db = "mysql://db.example/x"\n', /bad\.toml:1: db mysql:\/\/db\.example\/x: unsupported scheme/],
      [
        'storage = "s3://UPPER"\n',
        /bad\.toml:1: storage s3:\/\/UPPER: "upper" is not a valid bucket name|bad\.toml:1: storage s3:\/\/UPPER/,
      ],
      [
        'metrics-token = "0123456789abcdef0123"\n',
        /bad\.toml:1: metrics-token: a secret's value is never read from the config file.*metrics-token-file/,
      ],
      ['db-password = "pw"\n', /bad\.toml:1: db-password: a secret's value is never read.*db-password-file/],
      [
        'db = "postgres://nixcache:hunter2@db.example/nixcache"\n',
        /bad\.toml:1: db: the URL has a password, which would sit in the config file: .*db-password-file/,
      ],
      [
        `s3-access-key-id-file = ${JSON.stringify(secrets.keyId)}\n`,
        /s3-access-key-id-file and s3-secret-access-key-file go together/,
      ],
      [
        `metrics-token-file = "${join(dir.path, "absent")}"\n`,
        /cannot read .*bad\.toml:1: metrics-token-file .*absent: ENOENT/,
      ],
      [
        `metrics-token-file = ${JSON.stringify(file("short", "short\n"))}\n`,
        /the metrics token \(.*bad\.toml:1: metrics-token-file .*short\) must be 16 to 512/,
      ],
      ['listen = "127.0.0.1:7080"\nlisten = "x"\n', /bad\.toml:2:1: not valid TOML: trying to redefine/],
      ['listen = "unterminated\n', /bad\.toml:1:\d+: not valid TOML/],
    ];
    for (const [toml, reason] of cases) {
      const path = file("bad.toml", toml);
      const message = usageError({ file: path });
      assert.match(message, reason, toml);
      assert.ok(!message.includes("hunter2"), message);
    }
    assert.match(
      usageError({ file: join(dir.path, "missing.toml") }),
      /cannot read the config file .*missing\.toml: ENOENT/,
    );
    // The environment's mistakes name the variable; the flags' name the flag.
    assert.match(usageError({}, { NIXCACHE_QUIET: "maybe" }), /NIXCACHE_QUIET="maybe" must be true or false/);
    assert.match(usageError({}, { NIXCACHE_WORKERS: "0" }), /^NIXCACHE_WORKERS "0" must be a number/);
    assert.match(usageError({}, { NIXCACHE_LISTEN: "nope" }), /^NIXCACHE_LISTEN "nope" is not HOST:PORT/);
    assert.match(usageError({ flags: { "max-upload": "lots" } }), /^--max-upload "lots" is not a size/);
    assert.match(
      usageError({ flags: { db: "postgres://u:hunter2@db.example/x" } }),
      /^--db: the URL has a password, which anyone can read in the process list/,
    );
    // A password in the variable is allowed (it is not on the command line).
    assert.equal(
      loadConfig({ env: { NIXCACHE_DB: "postgres://u:pw@db.example/x" } }).get("db")?.origin.from,
      "env",
    );
  });

  test("the CLI exits 2 with the message; a secret on the command line is refused", async () => {
    const bad = file("cli-bad.toml", 'listen = "127.0.0.1:0"\nmax-upload = "lots"\n');
    const r = await runCli(["serve", "--config", bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^nixcache: error: .*cli-bad\.toml:2: max-upload "lots" is not a size/m);
    const viaEnv = await runCli(["serve"], { env: { NIXCACHE_CONFIG: bad } });
    assert.equal(viaEnv.code, 2);
    assert.match(viaEnv.stderr, /cli-bad\.toml:2: max-upload/);
    // (--print-config: were it accepted, nothing would start and wait.)
    const argv = await runCli(["serve", "--print-config", "--metrics-token", "0123456789abcdef0123"]);
    assert.equal(argv.code, 2);
    assert.match(
      argv.stderr,
      /--metrics-token: a secret is never taken from the command line.*metrics-token-file/,
    );
    assert.ok(!argv.stderr.includes("0123456789abcdef0123"));
  });

  test("secrets: the *-file setting, else the systemd credential, else (metrics) its variable", () => {
    const creds = join(dir.path, "credentials");
    mkdirSync(creds);
    writeFileSync(join(creds, "metrics-token"), "credential-token-0123456789\n");
    writeFileSync(join(creds, "db-password"), "credential-db-pw\n");
    writeFileSync(join(creds, "s3-access-key-id"), "CREDKEYID\n");
    writeFileSync(join(creds, "s3-secret-access-key"), "credential-s3-secret\n");
    const env = { CREDENTIALS_DIRECTORY: creds, NIXCACHE_METRICS_TOKEN: "env-token-0123456789abc" };
    const fromCreds = resolveServeConfig(loadConfig({ env }), env);
    assert.equal(fromCreds.server.metricsToken, "credential-token-0123456789");
    assert.equal(fromCreds.server.dbPassword, "credential-db-pw");
    assert.deepEqual(fromCreds.server.s3Credentials, {
      accessKeyId: "CREDKEYID",
      secretAccessKey: "credential-s3-secret",
    });
    const withFile = { ...env, NIXCACHE_METRICS_TOKEN_FILE: secrets.metrics };
    assert.equal(
      resolveServeConfig(loadConfig({ env: withFile }), withFile).server.metricsToken,
      "metrics-token-0123456789",
    );
    const onlyEnv = { NIXCACHE_METRICS_TOKEN: "env-token-0123456789abc" };
    const legacy = resolveServeConfig(loadConfig({ env: onlyEnv }), onlyEnv);
    assert.equal(legacy.server.metricsToken, "env-token-0123456789abc");
    assert.equal(legacy.server.dbPassword, undefined);
    assert.equal(legacy.server.s3Credentials, undefined);

    // --print-config names where each came from, and shows none of them.
    const printed = printConfig(loadConfig({ env }), fromCreds.secrets);
    for (const secret of [
      "credential-token",
      "credential-db-pw",
      "CREDKEYID",
      "credential-s3-secret",
      "env-token",
    ])
      assert.ok(!printed.includes(secret), secret);
    assert.match(
      printed,
      /^# metrics-token: from the systemd credential metrics-token \(.*credentials\/metrics-token\)/m,
    );
    assert.match(printed, /^# db-password: from the systemd credential db-password/m);
    const legacyPrinted = printConfig(loadConfig({ env: onlyEnv }), legacy.secrets);
    assert.match(
      legacyPrinted,
      /^# metrics-token = "REDACTED" {2}# from \$NIXCACHE_METRICS_TOKEN; a redacted value does not load as a secret: .*metrics-token-file/m,
    );
    assert.ok(!legacyPrinted.includes("env-token"));
  });

  test("--print-config prints TOML that --config loads back to the same configuration", async () => {
    // In-process, every setting: from the file, from variables, from flags.
    const all = file("round.toml", sampleToml());
    for (const inputs of [
      { file: all, env: {} },
      { env: Object.fromEntries(SETTINGS.map((s) => [envName(s.name), SAMPLE[s.name]?.env])) },
      { flags: Object.fromEntries(SETTINGS.map((s) => [s.name, SAMPLE[s.name]?.raw as Raw])), env: {} },
      { env: {} },
    ]) {
      const cfg = loadConfig(inputs);
      const printed = printConfig(cfg, resolveServeConfig(cfg, inputs.env).secrets);
      const back = loadConfig({ file: file("printed.toml", printed), env: {} });
      assert.deepEqual(raws(back), raws(cfg));
      assert.deepEqual(resolveServeConfig(back, {}).server, resolveServeConfig(cfg, inputs.env).server);
      // Printing what was loaded back prints the same settings again.
      const again = printConfig(back, resolveServeConfig(back, {}).secrets);
      const assignments = (t: string) => t.split("\n").map((l) => l.replace(/ {2}# .*$/, ""));
      assert.deepEqual(assignments(again), assignments(printed));
    }

    // The CLI, with a file, a variable and flags (--no-upstream prints as `upstream = []`).
    const cliFile = file(
      "cli.toml",
      `data = ${JSON.stringify(join(dir.path, "cli-data"))}\ngc-interval = "2h"\nworkers = 4\n`,
    );
    const r = await runCli(
      ["serve", "--config", cliFile, "--print-config", "--workers", "2", "--no-upstream", "--quiet"],
      {
        env: { NIXCACHE_GC_GRACE: "3h" },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^workers = 2 {2}# flag$/m);
    assert.match(r.stdout, /^upstream = \[\] {2}# flag$/m);
    assert.match(r.stdout, /^gc-grace = "3h" {2}# \$NIXCACHE_GC_GRACE$/m);
    assert.match(r.stdout, /^gc-interval = "2h" {2}# .*cli\.toml:2$/m);
    assert.match(r.stdout, /^# max-upload = "8G" {2}# default$/m);
    assert.match(r.stdout, /^# public-url = \(not set\)$/m);
    const printed = file("cli-printed.toml", r.stdout);
    const back = await runCli(["serve", "--config", printed, "--print-config"], {
      env: { NIXCACHE_GC_GRACE: "" },
    });
    assert.equal(back.code, 0, back.stderr);
    const settingsOf = (t: string) =>
      t
        .split("\n")
        .filter((l) => /^[a-z]/.test(l))
        .map((l) => l.replace(/ {2}# .*$/, ""));
    assert.deepEqual(settingsOf(back.stdout), settingsOf(r.stdout));

    // A database URL's password is redacted, and the printed file says it does not load as one.
    const pw = {
      NIXCACHE_DB: "postgres://nixcache:hunter2@db.example:5432/nixcache",
      NIXCACHE_DATA: "/srv/x",
    };
    const withPw = await runCli(["serve", "--print-config"], { env: pw });
    assert.equal(withPw.code, 0, withPw.stderr);
    assert.ok(!withPw.stdout.includes("hunter2"));
    assert.match(
      withPw.stdout,
      /^# db: the URL's password is redacted, and a redacted value does not load as a secret:$/m,
    );
    assert.match(withPw.stdout, /^db = "postgres:\/\/nixcache:REDACTED@db\.example:5432\/nixcache"/m);
    const reload = await runCli(["serve", "--config", file("pw.toml", withPw.stdout), "--print-config"], {
      env: { NIXCACHE_DB: "" },
    });
    assert.equal(reload.code, 2);
    assert.match(reload.stderr, /pw\.toml:\d+: db: the URL has a password.*db-password-file/);
  });

  test("the embedded default's server (nixcache ci) is configured by none of them", () => {
    const env = embeddedServerEnv({
      PATH: "/bin",
      HOME: "/root",
      NIXCACHE_DEBUG: "1",
      NIXCACHE_CONFIG: "/etc/nixcache/server.toml",
      NIXCACHE_DB: "postgres://db.example/x",
      NIXCACHE_WORKERS: "8",
      NOTIFY_SOCKET: "/run/systemd/notify",
      LISTEN_FDS: "1",
      CREDENTIALS_DIRECTORY: "/run/credentials/x",
    });
    assert.deepEqual(env, { PATH: "/bin", HOME: "/root", NIXCACHE_DEBUG: "1" });
  });

  test("a server started from a config file and the environment applies both", async () => {
    const token = "cli-metrics-token-0123456789";
    const data = join(dir.path, "running");
    assert.equal((await runCli(["cache", "create", "main", "--data", data])).code, 0);
    const cfgFile = file(
      "running.toml",
      `public-url = "https://file.example.org"\nmetrics-token-file = ${JSON.stringify(file("tok", `${token}\n`))}\nquiet = true\n`,
    );
    // The variable wins over the file.
    process.env.NIXCACHE_PUBLIC_URL = "https://env.example.org";
    const s = await serve(data, ["--config", cfgFile]).finally(() => {
      delete process.env.NIXCACHE_PUBLIC_URL;
    });
    try {
      assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
      const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      const cfg = (await (await fetch(`${s.url}/api/cache-config`)).json()) as {
        caches: Array<{ substituter: string }>;
      };
      assert.deepEqual(
        cfg.caches.map((c) => c.substituter),
        ["https://env.example.org/main"],
      );
      // quiet from the file: no request log lines.
      assert.doesNotMatch(s.stderr(), /"method":"GET"/);
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  });
});
