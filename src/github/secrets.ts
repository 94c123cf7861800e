// Repository secrets and variables of GitHub Actions, set through the REST API:
//   GET  /repos/{owner}/{repo}/actions/secrets/public-key        → {key_id, key}
//   PUT  /repos/{owner}/{repo}/actions/secrets/{name}            {encrypted_value, key_id}
//   GET  /repos/{owner}/{repo}/actions/variables/{name}          → {name, value, ...} | 404
//   POST /repos/{owner}/{repo}/actions/variables                 {name, value}
//   PATCH /repos/{owner}/{repo}/actions/variables/{name}         {name, value}
// Secrets cannot be read back, so each is set every time (policy "always"); variables are read
// and changed only when their value differs. Results carry names, never values.
import type { Octokit } from "@octokit/rest";
import { NixcacheError } from "../util/errors.js";
import { githubError, SECRETS_PERMISSION, VARIABLES_PERMISSION } from "./rest.js";
import { sealForGitHub } from "./sealed-box.js";

/** A value to put into GitHub, named as it will be there, with where it came from (for reports). */
export interface NamedValue {
  name: string;
  value: string;
  source: string;
}

export type SyncAction = "set" | "create" | "update" | "unchanged";

export interface SyncItem {
  kind: "secret" | "variable";
  name: string;
  source: string;
  /** What was (or, in a dry run, would be) done. */
  action: SyncAction;
  /** False in a dry run, or when it failed. */
  done: boolean;
  /** Why it failed (GitHub's answer and the token fix); never a value. */
  error?: string;
  /** Why a dry run could not compare (no token). */
  note?: string;
}

export interface SyncReport {
  repo: string;
  dryRun: boolean;
  /** How secrets are decided: always set, as GitHub never returns their values. */
  secretPolicy: "always";
  items: SyncItem[];
  ok: boolean;
}

export interface SyncOptions {
  /** `OWNER/NAME`. */
  repo: string;
  secrets: readonly NamedValue[];
  variables: readonly NamedValue[];
  /** Read only: say what would change. */
  dryRun?: boolean;
}

const NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * GitHub's rule for secret and variable names (letters, digits, `_`; not starting with a digit
 * or `GITHUB_`); names are case-insensitive there and shown upper-case, so they are upper-cased.
 */
export function actionsName(name: string, kind: "secret" | "variable"): string {
  const n = name.toUpperCase();
  if (!NAME.test(n) || n.startsWith("GITHUB_"))
    throw new NixcacheError(
      "usage",
      `${JSON.stringify(name)} cannot be a GitHub Actions ${kind} name: use letters, digits and _, not starting with a digit or GITHUB_`,
    );
  return n;
}

/** `OWNER/NAME` → its parts; a usage error otherwise. */
export function parseRepo(repo: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(repo);
  if (!m) throw new NixcacheError("usage", `--repo must be OWNER/NAME, got ${JSON.stringify(repo)}`);
  return { owner: m[1] as string, repo: m[2] as string };
}

/**
 * Sets the secrets and variables (or, with `dryRun`, says what would change). Each item is tried
 * on its own, so one refusal does not hide the others; `client` may be null only in a dry run
 * (nothing is read then, and variables cannot be compared).
 */
export async function syncActions(client: Octokit | null, o: SyncOptions): Promise<SyncReport> {
  const { owner, repo } = parseRepo(o.repo);
  const dryRun = o.dryRun === true;
  if (!client && !dryRun)
    throw new NixcacheError("usage", "a GitHub token is needed (GITHUB_TOKEN or GH_TOKEN)");
  const items: SyncItem[] = [];

  if (o.secrets.length > 0) {
    let key: { key_id: string; key: string } | undefined;
    let keyError: string | undefined;
    if (client && !dryRun) {
      try {
        key = (await client.rest.actions.getRepoPublicKey({ owner, repo })).data;
      } catch (e) {
        keyError = githubError(
          e,
          `GET the Actions public key of ${o.repo}`,
          o.repo,
          SECRETS_PERMISSION,
        ).message;
      }
    }
    for (const s of o.secrets) {
      const item: SyncItem = { kind: "secret", name: s.name, source: s.source, action: "set", done: false };
      items.push(item);
      if (dryRun) continue;
      if (!key || !client) {
        item.error = keyError;
        continue;
      }
      try {
        const encrypted_value = await sealForGitHub(s.value, key.key);
        await client.rest.actions.createOrUpdateRepoSecret({
          owner,
          repo,
          secret_name: s.name,
          encrypted_value,
          key_id: key.key_id,
        });
        item.done = true;
      } catch (e) {
        item.error = githubError(e, `set secret ${s.name}`, o.repo, SECRETS_PERMISSION).message;
      }
    }
  }

  for (const v of o.variables) {
    const item: SyncItem = { kind: "variable", name: v.name, source: v.source, action: "set", done: false };
    items.push(item);
    if (!client) {
      item.note = "not compared: no token";
      continue;
    }
    let current: string | undefined;
    try {
      current = (await client.rest.actions.getRepoVariable({ owner, repo, name: v.name })).data.value;
    } catch (e) {
      if ((e as { status?: number }).status !== 404) {
        item.error = githubError(e, `read variable ${v.name}`, o.repo, VARIABLES_PERMISSION).message;
        continue;
      }
    }
    item.action = current === undefined ? "create" : current === v.value ? "unchanged" : "update";
    if (dryRun || item.action === "unchanged") continue;
    try {
      if (item.action === "create")
        await client.rest.actions.createRepoVariable({ owner, repo, name: v.name, value: v.value });
      else await client.rest.actions.updateRepoVariable({ owner, repo, name: v.name, value: v.value });
      item.done = true;
    } catch (e) {
      item.error = githubError(e, `${item.action} variable ${v.name}`, o.repo, VARIABLES_PERMISSION).message;
    }
  }
  return {
    repo: o.repo,
    dryRun,
    secretPolicy: "always",
    items,
    ok: items.every((i) => i.error === undefined),
  };
}

/** A line per item, for a terminal: names and actions only. */
export function formatSyncReport(r: SyncReport): string {
  const lines = r.items.map((i) => {
    const verb = r.dryRun
      ? i.action === "unchanged"
        ? "unchanged"
        : `would ${i.action}`
      : i.error
        ? `FAILED to ${i.action}`
        : i.action === "unchanged"
          ? "unchanged"
          : `${i.action === "set" ? "set" : `${i.action}d`}`;
    const why = i.error ? `: ${i.error}` : i.note ? ` (${i.note})` : "";
    return `${i.kind.padEnd(9)}${i.name.padEnd(28)}${verb} (from ${i.source})${why}`;
  });
  const failed = r.items.filter((i) => i.error).length;
  lines.push(
    `${r.repo}: ${r.items.length} item${r.items.length === 1 ? "" : "s"}${r.dryRun ? " (dry run: nothing changed)" : ""}${failed ? `, ${failed} failed` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}
