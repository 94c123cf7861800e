// The state of a migration, kept in the repository (`.nixcache/migrate.json`) so that a paused
// migration resumes where it stopped and a rollback knows what to undo. Every file a step changes
// or deletes is copied first, byte for byte, to `.nixcache/backup/<path>` (once: the copy is the
// file as it was before the migration); a file a step creates is recorded as created. What was
// done elsewhere (a cache created, secrets set) is recorded by name, never by value: the state
// file holds no token.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { NixcacheError } from "../util/errors.js";

export const STATE_DIR = ".nixcache";
export const STATE_FILE = path.join(STATE_DIR, "migrate.json");
export const BACKUP_DIR = path.join(STATE_DIR, "backup");

export const STEP_IDS = [
  "cache",
  "secrets",
  "workflows",
  "nix-config",
  "verify",
  "required-check",
  "cleanup",
] as const;
export type StepId = (typeof STEP_IDS)[number];

const StepRecord = z.object({
  status: z.enum(["done", "failed"]),
  at: z.string(),
  detail: z.string(),
});
export type StepRecord = z.infer<typeof StepRecord>;

const FileRecord = z.object({
  /** Relative to the repository. */
  path: z.string(),
  /** True: the migration created it (rollback deletes it). False: `backup` holds the original. */
  created: z.boolean(),
  /** The copy of the original, relative to the repository (null for a created file). */
  backup: z.string().nullable(),
  /** sha256 (hex) of the original bytes, so a damaged backup is refused rather than restored. */
  sha256: z.string().nullable(),
});
export type FileRecord = z.infer<typeof FileRecord>;

const RemoteRecord = z.object({
  /** `required-check`: a status check context the migration added to a branch's protection. */
  kind: z.enum(["cache", "secret", "variable", "required-check"]),
  /** The cache's API, or the GitHub repository `OWNER/NAME`. */
  where: z.string(),
  name: z.string(),
  /** For `required-check`: the branch whose protection requires it. */
  branch: z.string().optional(),
  at: z.string(),
});
export type RemoteRecord = z.infer<typeof RemoteRecord>;

const State = z.object({
  version: z.literal(1),
  from: z.string(),
  to: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  steps: z.record(z.string(), StepRecord),
  files: z.array(FileRecord),
  /** Directories the migration created (rollback removes them when they are empty again). */
  createdDirs: z.array(z.string()),
  remote: z.array(RemoteRecord),
});
export type MigrationState = z.infer<typeof State>;

export function newState(from: string, to: string, now = new Date()): MigrationState {
  const at = now.toISOString();
  return {
    version: 1,
    from,
    to,
    startedAt: at,
    updatedAt: at,
    steps: {},
    files: [],
    createdDirs: [],
    remote: [],
  };
}

/** The state of the migration in `repo`, or undefined when none is under way. */
export async function loadState(repo: string): Promise<MigrationState | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(repo, STATE_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NixcacheError("invalid", `${STATE_FILE}: not JSON (${(e as Error).message})`);
  }
  const r = State.safeParse(json);
  if (!r.success)
    throw new NixcacheError(
      "invalid",
      `${STATE_FILE}: not a nixcache migration state (${r.error.issues[0]?.message})`,
    );
  return r.data;
}

/** Writes the state (to a temporary file renamed into place: a crash leaves the old or the new). */
export async function saveState(repo: string, state: MigrationState, now = new Date()): Promise<void> {
  state.updatedAt = now.toISOString();
  const file = path.join(repo, STATE_FILE);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

export function recordStep(
  state: MigrationState,
  id: StepId,
  status: StepRecord["status"],
  detail: string,
): void {
  state.steps[id] = { status, at: new Date().toISOString(), detail };
}

export function recordRemote(state: MigrationState, r: Omit<RemoteRecord, "at">): void {
  if (
    state.remote.some(
      (x) => x.kind === r.kind && x.where === r.where && x.name === r.name && x.branch === r.branch,
    )
  )
    return;
  state.remote.push({ ...r, at: new Date().toISOString() });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/**
 * Before a step changes, creates or deletes `rel`: the first time, remember it (a backup copy of
 * the original, or that it did not exist, and which of its directories did not) and save the state.
 */
async function remember(repo: string, state: MigrationState, rel: string): Promise<void> {
  if (state.files.some((f) => f.path === rel)) return;
  const abs = path.join(repo, rel);
  let original: Buffer | undefined;
  try {
    original = await readFile(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (original === undefined) {
    const dirs: string[] = [];
    for (
      let d = path.dirname(rel);
      d !== "." && d !== "" && !(await exists(path.join(repo, d)));
      d = path.dirname(d)
    )
      dirs.push(d);
    state.createdDirs.push(...dirs.filter((d) => !state.createdDirs.includes(d)));
    state.files.push({ path: rel, created: true, backup: null, sha256: null });
  } else {
    const backup = path.join(BACKUP_DIR, rel);
    await mkdir(path.dirname(path.join(repo, backup)), { recursive: true });
    await writeFile(path.join(repo, backup), original);
    state.files.push({ path: rel, created: false, backup, sha256: sha256(original) });
  }
  await saveState(repo, state);
}

/** Writes `content` to `rel` in `repo`, remembering the original first. */
export async function writeRepoFile(
  repo: string,
  state: MigrationState,
  rel: string,
  content: string | Buffer,
): Promise<void> {
  await remember(repo, state, rel);
  const abs = path.join(repo, rel);
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, content);
}

/** Deletes `rel` in `repo`, remembering the original first. */
export async function deleteRepoFile(repo: string, state: MigrationState, rel: string): Promise<void> {
  await remember(repo, state, rel);
  await rm(path.join(repo, rel), { force: true });
}

export interface RestoreResult {
  /** Files put back as they were. */
  restored: string[];
  /** Files the migration had created, deleted. */
  removed: string[];
}

/**
 * Puts every file back byte for byte (created ones deleted, directories the migration created
 * removed when empty), then deletes the state and its backups. A backup whose bytes no longer
 * match its recorded hash stops the rollback before anything is written.
 */
export async function restoreFiles(repo: string, state: MigrationState): Promise<RestoreResult> {
  const originals = new Map<string, Buffer>();
  for (const f of state.files) {
    if (f.created || f.backup === null) continue;
    const bytes = await readFile(path.join(repo, f.backup));
    if (sha256(bytes) !== f.sha256)
      throw new NixcacheError(
        "failed",
        `the backup of ${f.path} (${f.backup}) was changed: nothing restored`,
      );
    originals.set(f.path, bytes);
  }
  const res: RestoreResult = { restored: [], removed: [] };
  for (const f of [...state.files].reverse()) {
    const abs = path.join(repo, f.path);
    const original = originals.get(f.path);
    if (original === undefined) {
      await rm(abs, { force: true });
      res.removed.push(f.path);
    } else {
      await mkdir(path.dirname(abs), { recursive: true });
      await writeFile(abs, original);
      res.restored.push(f.path);
    }
  }
  // Deepest first; a directory that holds something else now stays.
  for (const d of [...state.createdDirs].sort((a, b) => b.length - a.length))
    await rmdir(path.join(repo, d)).catch(() => {});
  await rm(path.join(repo, BACKUP_DIR), { recursive: true, force: true });
  await rm(path.join(repo, STATE_FILE), { force: true });
  await rmdir(path.join(repo, STATE_DIR)).catch(() => {});
  return res;
}
