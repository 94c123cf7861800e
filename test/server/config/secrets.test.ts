// The secrets of `nixcache serve` reach the real backends: PostgreSQL's password from
// db-password-file or the db-password systemd credential, S3's keys from their files, where the
// URLs (on the command line, in the config file) carry none.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import pg from "pg";
import { loadConfig } from "../../../src/server/config/load.js";
import { resolveServeConfig } from "../../../src/server/config/options.js";
import { openMetadata, openStorage } from "../../../src/server/state-location.js";
import { tempDir } from "../../helpers/nix.js";
import { startPostgres } from "../../helpers/postgres.js";
import { freshStorageUrl } from "../../helpers/s3.js";

const dir = tempDir("nixcache-serve-secrets-");
after(() => dir.cleanup());

function secretFile(name: string, value: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, `${value}\n`);
  chmodSync(path, 0o600);
  return path;
}

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

test("PostgreSQL's password from db-password-file or the db-password credential, never the URL", async () => {
  const server = startPostgres();
  const role = "serve_pw_role";
  const password = "pw-from-file-7f3a";
  await sql(server.url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await sql(server.url, `CREATE DATABASE serve_pw OWNER ${role}`);
  // This role must authenticate with its password (everyone else is trusted).
  const hba = join(server.dir, "data", "pg_hba.conf");
  writeFileSync(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, "utf8")}`);
  await sql(server.url, "SELECT pg_reload_conf()");
  const db = `postgres://${role}@127.0.0.1:${server.port}/serve_pw`;
  const storage = `file://${join(dir.path, "blobs")}`;
  const saved = process.env.PGPASSFILE;
  process.env.PGPASSFILE = join(dir.path, "no-pgpass");
  try {
    const open = async (env: NodeJS.ProcessEnv, file?: string) => {
      const conf = resolveServeConfig(loadConfig({ env, file }), env);
      const meta = await openMetadata(conf.server);
      await meta.close();
    };
    // From a config file naming the password's file.
    const cfg = join(dir.path, "pg.toml");
    writeFileSync(
      cfg,
      `db = ${JSON.stringify(db)}\nstorage = ${JSON.stringify(storage)}\ndb-password-file = ${JSON.stringify(secretFile("pg-pw", password))}\n`,
    );
    await open({}, cfg);
    // From the systemd credential.
    const creds = join(dir.path, "creds");
    mkdirSync(creds);
    writeFileSync(join(creds, "db-password"), `${password}\n`);
    await open({ NIXCACHE_DB: db, NIXCACHE_STORAGE: storage, CREDENTIALS_DIRECTORY: creds });
    // Without it the server cannot log in, and a wrong one is not shown in the error.
    await assert.rejects(open({ NIXCACHE_DB: db, NIXCACHE_STORAGE: storage }), /password/);
    const wrong = {
      NIXCACHE_DB: db,
      NIXCACHE_STORAGE: storage,
      NIXCACHE_DB_PASSWORD_FILE: secretFile("bad", "nope-9d2c"),
    };
    await assert.rejects(open(wrong), (e: Error) => {
      assert.match(e.message, /password authentication failed/);
      assert.doesNotMatch(e.message, /nope-9d2c/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.PGPASSFILE;
    else process.env.PGPASSFILE = saved;
    server.stop();
  }
});

test("S3's keys from s3-access-key-id-file and s3-secret-access-key-file, instead of the AWS chain", async () => {
  const storage = await freshStorageUrl(); // sets the test endpoint's keys in the environment
  const keyId = process.env.AWS_ACCESS_KEY_ID as string;
  const secret = process.env.AWS_SECRET_ACCESS_KEY as string;
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  const saved = {
    profile: process.env.AWS_PROFILE,
    config: process.env.AWS_CONFIG_FILE,
    creds: process.env.AWS_SHARED_CREDENTIALS_FILE,
  };
  // No profile and no instance metadata to fall back to: the keys must come from the files.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  process.env.AWS_CONFIG_FILE = join(dir.path, "no-aws-config");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir.path, "no-aws-credentials");
  try {
    const init = async (env: NodeJS.ProcessEnv) => {
      const conf = resolveServeConfig(loadConfig({ env }), env);
      const s = await openStorage(conf.server);
      await s.init({ clearStaging: true });
    };
    const base = { NIXCACHE_STORAGE: storage, NIXCACHE_DB: `sqlite://${join(dir.path, "s3.db")}` };
    await init({
      ...base,
      NIXCACHE_S3_ACCESS_KEY_ID_FILE: secretFile("s3-id", keyId),
      NIXCACHE_S3_SECRET_ACCESS_KEY_FILE: secretFile("s3-secret", secret),
    });
    await assert.rejects(
      init({
        ...base,
        NIXCACHE_S3_ACCESS_KEY_ID_FILE: secretFile("s3-id", keyId),
        NIXCACHE_S3_SECRET_ACCESS_KEY_FILE: secretFile("s3-secret-bad", "not-the-secret"),
      }),
    );
  } finally {
    process.env.AWS_ACCESS_KEY_ID = keyId;
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    for (const [k, v] of [
      ["AWS_PROFILE", saved.profile],
      ["AWS_CONFIG_FILE", saved.config],
      ["AWS_SHARED_CREDENTIALS_FILE", saved.creds],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
});
