// `nixcache workflow`: the GitHub Actions workflow of a flake, "Nix Build Cache", generated from one
// source so that it cannot drift. Its build jobs (one runner per system) build the target set and
// push it; its Cache Only job, after the build jobs of every system, verifies that every target
// (and its closure) is substitutable and sets the aggregate commit status "All nixcache checks",
// the one check to require in branch protection. Nothing lists targets: every job runs the nixcache
// Action, which reads the same config at run time. Only the systems of the target set (which
// runners to start) are fixed at generation time.
//
// Cache Only used to be a workflow of its own (cache-only.yml, on `workflow_run`, with a 45-minute
// `--wait`). It is a job of the build workflow now: a `workflow_run` workflow runs on the default
// branch's head with the default branch's workflow file, so it cannot give a pull request's commit
// its status, and two writers of one required context race. As a job with `needs: build` it runs
// once per commit, for pushes and same-repository pull requests, after every system's build has
// pushed, so a short wait suffices. A cache-only.yml an older nixcache generated is retired:
// reported by --check, deleted when the workflow is written.
import { stringify } from "yaml";
import { NIXOS_CACHE } from "../nix/nixos-cache.js";
import { NixcacheError } from "../util/errors.js";
import { AGGREGATE_CONTEXT, requireAggregateHowTo } from "./branch-protection.js";
import type { GeneratedFile } from "./workflow-files.js";

/** A GitHub Actions expression, `${{ … }}`. */
const gh = (expression: string): string => `\${{ ${expression} }}`;

/** GitHub-hosted runner per Nix system (PROTOCOLS.md §5); `--runner SYSTEM=LABEL` overrides. */
export const DEFAULT_RUNNERS: Readonly<Record<string, string>> = {
  "x86_64-linux": "ubuntu-24.04",
  "aarch64-linux": "ubuntu-24.04-arm",
  "x86_64-darwin": "macos-13",
  "aarch64-darwin": "macos-14",
};

/** The actions the workflows use besides nixcache's, pinned by tag. */
export const CHECKOUT_ACTION = "actions/checkout@v5";
export const NIX_INSTALLER_ACTION = "cachix/install-nix-action@v31";
/** Where Cache Only runs (verify reads caches only: any system will do). */
export const VERIFY_RUNNER = "ubuntu-24.04";

export const BUILD_WORKFLOW_FILE = "nix-build-cache.yml";
export const BUILD_WORKFLOW_NAME = "Nix Build Cache";
/** The job (id and name) that verifies after every build job and sets the aggregate status. */
export const CACHE_ONLY_JOB = "cache-only";
export const CACHE_ONLY_JOB_NAME = "Cache Only";
/** How long Cache Only waits for the cache after successful builds (they have all pushed by then). */
export const CACHE_ONLY_WAIT = "5m";
/**
 * Files older versions generated that this one does not: cache-only.yml was the Cache Only
 * workflow (on `workflow_run`), now a job of the build workflow. Retired only when its header
 * says nixcache generated it.
 */
export const RETIRED_WORKFLOW_FILES: readonly string[] = ["cache-only.yml"];

export interface WorkflowOptions {
  /** The systems of the flake's target set (one build job each). */
  systems: readonly string[];
  /** The cache: `cachix://NAME` or `http(s)://host/<cache>` (a nixcache server or any Nix HTTP cache). */
  cache: string;
  /** `uses:` of the nixcache Action, `OWNER/REPO@REF`. */
  actionRef: string;
  /** Runner label per system, over DEFAULT_RUNNERS. */
  runners?: Readonly<Record<string, string>>;
  /** Flake reference the Action builds (default `.`, the checkout). */
  flake?: string;
  /** garnix.yaml (or nixcache config) the Action reads instead of the flake's own. */
  config?: string;
  /** The default branch: pushes to it build, push and verify (pull requests do too). */
  branch?: string;
  /** The output directory as the user named it (only for the regenerate command in the header). */
  out?: string;
  /** How long Cache Only waits for the cache after successful builds (`verify --wait`, default 5m). */
  verifyWait?: string;
  /**
   * How the jobs get their cache token: `token`, a repository secret (default), or `oidc`, the
   * job's OIDC identity token exchanged at the nixcache server (no stored secret).
   */
  auth?: WorkflowAuth;
}

export const WORKFLOW_AUTHS = ["token", "oidc"] as const;
export type WorkflowAuth = (typeof WORKFLOW_AUTHS)[number];

/** `SYSTEM=LABEL` flags → a map; a malformed one is a usage error. */
export function parseRunnerFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const m = /^([A-Za-z0-9_]+-[A-Za-z0-9_]+)=(\S.*)$/.exec(f);
    if (!m?.[1] || !m[2])
      throw new NixcacheError(
        "usage",
        `--runner ${JSON.stringify(f)}: expected SYSTEM=LABEL, e.g. aarch64-linux=ubuntu-24.04-arm`,
      );
    out[m[1]] = m[2].trim();
  }
  return out;
}

/** What the workflows pass to the Action for this cache: its URL and the token secret (or OIDC). */
interface CacheWiring {
  /** The `cache` input (may hold an expression). */
  cache: string;
  /** The `token` input; none with OIDC. */
  token?: string;
  oidc?: true;
  /** Secrets and variables the repository must define, for the header. */
  needs: string[];
}

function cacheWiring(url: string, auth: WorkflowAuth = "token"): CacheWiring {
  if (auth === "oidc") {
    if (!/^https?:\/\/[^/]+\/./i.test(url))
      throw new NixcacheError(
        "usage",
        `--auth oidc needs a nixcache server cache, http(s)://HOST/<cache> (Cachix has no OIDC token exchange), not ${JSON.stringify(url)}`,
      );
    const wired = cacheWiring(url);
    return {
      cache: wired.cache,
      oidc: true,
      needs: [
        "a trust rule on the cache's server granting this repository's default branch write (OIDC: no stored secret)",
      ],
    };
  }
  const cachix = /^cachix:\/\/([A-Za-z0-9][A-Za-z0-9_-]*)\/?$/i.exec(url);
  if (cachix?.[1])
    return {
      cache: `cachix://${gh(`vars.CACHIX_CACHE_NAME || '${cachix[1]}'`)}`,
      token: gh("secrets.CACHIX_AUTH_TOKEN"),
      needs: ["secret CACHIX_AUTH_TOKEN (write token)", `variable CACHIX_CACHE_NAME (default ${cachix[1]})`],
    };
  if (/^https?:\/\/[^/]+\/./i.test(url)) {
    if (/[\s'"$]/.test(url))
      throw new NixcacheError("usage", `--cache ${JSON.stringify(url)}: not a plain URL`);
    return {
      cache: url.replace(/\/+$/, ""),
      token: gh("secrets.NIXCACHE_TOKEN"),
      needs: ["secret NIXCACHE_TOKEN (a write token of the cache)"],
    };
  }
  throw new NixcacheError(
    "usage",
    `--cache ${JSON.stringify(url)}: a workflow needs a cache a runner can reach: cachix://NAME or http(s)://HOST/<cache>`,
  );
}

/** The runner label for each system; a system without one is a usage error naming the fix. */
export function runnersFor(
  systems: readonly string[],
  overrides: Readonly<Record<string, string>> = {},
): Array<{ system: string; runner: string }> {
  const out: Array<{ system: string; runner: string }> = [];
  for (const system of [...new Set(systems)].sort()) {
    const runner = overrides[system] ?? DEFAULT_RUNNERS[system];
    if (!runner)
      throw new NixcacheError(
        "usage",
        `the target set has ${system} targets and GitHub has no default runner for ${system}: pass --runner ${system}=LABEL`,
      );
    out.push({ system, runner });
  }
  for (const s of Object.keys(overrides))
    if (!systems.includes(s))
      throw new NixcacheError("usage", `--runner ${s}=…: the target set has no ${s} targets`);
  return out;
}

const quote = (s: string) => (/^[A-Za-z0-9_./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** The command that writes these files again (and, with --check, checks them). */
export function regenerateCommand(o: WorkflowOptions): string {
  const args = ["nixcache", "workflow"];
  if (o.flake !== undefined && o.flake !== ".") args.push("--flake", o.flake);
  if (o.config !== undefined) args.push("--config", o.config);
  args.push("--cache", o.cache);
  if (o.branch !== undefined && o.branch !== "main") args.push("--branch", o.branch);
  if (o.auth === "oidc") args.push("--auth", "oidc");
  for (const [system, label] of Object.entries(o.runners ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    args.push("--runner", `${system}=${label}`);
  args.push("--action-ref", o.actionRef);
  if (o.out !== undefined) args.push("--out", o.out);
  return args.map(quote).join(" ");
}

/** Words of `text` in lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") out.push(line);
  return out;
}

/** The text of the header comment: paragraphs wrapped, list items wrapped and indented, `literal` lines as they are. */
type HeaderPart = string | { literal: string } | { item: string };

function header(parts: readonly HeaderPart[]): string {
  const lines = parts.flatMap((p) => {
    if (typeof p === "string") return wrap(p, 98);
    if ("literal" in p) return [p.literal];
    return wrap(p.item, 94).map((l, i) => (i === 0 ? `- ${l}` : `    ${l}`));
  });
  return `${lines.map((l) => `# ${l}`.trimEnd()).join("\n")}\n`;
}

function actionInputs(o: WorkflowOptions, w: CacheWiring, command: string): Record<string, string> {
  const with_: Record<string, string> = { command, cache: w.cache };
  if (w.token !== undefined) with_.token = w.token;
  if (w.oidc) with_.oidc = "true";
  if (o.flake !== undefined && o.flake !== ".") with_.flake = o.flake;
  if (o.config !== undefined) with_.config = o.config;
  return with_;
}

function render(head: string, doc: unknown): string {
  return `${head}\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/**
 * What each job's GITHUB_TOKEN may do, least privilege: contents: read to check out; statuses:
 * write where commit statuses are set (build: a status per target of its system; Cache Only: the
 * per-target statuses and the aggregate); pull-requests: write only for Cache Only, the one job
 * that comments on a pull request; id-token: write only with OIDC (the cache token).
 */
export function jobPermissions(
  job: "build" | "cache-only",
  auth: WorkflowAuth = "token",
): Record<string, string> {
  return {
    contents: "read",
    statuses: "write",
    ...(job === "cache-only" ? { "pull-requests": "write" } : {}),
    ...(auth === "oidc" ? { "id-token": "write" } : {}),
  };
}

/** The workflow file, deterministic for the same options (so --check can compare). */
export function generateWorkflows(o: WorkflowOptions): GeneratedFile[] {
  const wiring = cacheWiring(o.cache, o.auth);
  const auth: WorkflowAuth = wiring.oidc ? "oidc" : "token";
  const jobs = runnersFor(o.systems, o.runners);
  if (jobs.length === 0)
    throw new NixcacheError("usage", "the target set is empty: there is nothing for a workflow to build");
  const branch = o.branch ?? "main";
  const systems = jobs.map((j) => j.system);
  // A pull request's head commit, not the merge commit GitHub would check out: its statuses are
  // the ones branch protection reads, so the commit that is built is the commit that gets them.
  const checkout = {
    uses: CHECKOUT_ACTION,
    with: { ref: gh("github.event.pull_request.head.sha || github.sha") },
  };
  const installNix = { name: "Install Nix", uses: NIX_INSTALLER_ACTION };
  // Each build job sets the statuses of its own system's targets and leaves the other systems'
  // to their jobs (--runner-systems); the pull request comment is Cache Only's, which sees them all.
  const buildArgs = ["--keep-going", "--pr-comment never", ...systems.map((s) => `--runner-systems ${s}`)];
  // Every build job has ended when Cache Only starts: after successful builds a short wait covers
  // a cache's propagation; after a failed one nothing more is coming, so it reports at once.
  const wait = gh(`needs.build.result == 'success' && '${o.verifyWait ?? CACHE_ONLY_WAIT}' || '0s'`);

  const workflow = {
    name: BUILD_WORKFLOW_NAME,
    on: {
      push: { branches: [branch] },
      pull_request: null,
      workflow_dispatch: null,
    },
    // The default for any job that does not say; each job below grants its own.
    permissions: { contents: "read" },
    concurrency: { group: `${gh("github.workflow")}-${gh("github.ref")}`, "cancel-in-progress": true },
    jobs: {
      build: {
        name: `build (${gh("matrix.system")})`,
        "runs-on": gh("matrix.runner"),
        permissions: jobPermissions("build", auth),
        strategy: { "fail-fast": false, matrix: { include: jobs } },
        steps: [
          checkout,
          installNix,
          {
            // Pull requests from forks get no secrets (nor, with OIDC, an identity token; and the
            // trust rules grant pull requests no write): the Action then builds and reads the
            // cache without pushing, and says so.
            name: "nixcache build",
            uses: o.actionRef,
            with: { ...actionInputs(o, wiring, "build"), "extra-args": buildArgs.join(" ") },
          },
        ],
      },
      [CACHE_ONLY_JOB]: {
        name: CACHE_ONLY_JOB_NAME,
        needs: "build",
        // After the build jobs of every system, whatever their result (a failed build is what the
        // aggregate must report), unless the run was cancelled (by a newer commit: its own run
        // reports). Not for pull requests from forks: their token may not set statuses, and their
        // builds pushed nothing to verify.
        if: "!cancelled() && (github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository)",
        "runs-on": VERIFY_RUNNER,
        permissions: jobPermissions("cache-only", auth),
        steps: [
          checkout,
          installNix,
          {
            name: "nixcache verify",
            uses: o.actionRef,
            with: {
              ...actionInputs(o, wiring, "verify"),
              upstream: NIXOS_CACHE,
              "extra-args": `--closure --wait ${wait} --interval 15s`,
            },
          },
        ],
      },
    },
  };

  // What each permission is for, per job (the header says it; jobPermissions grants it).
  const uses: Record<string, string> = {
    contents: "to check out",
    "id-token": "for the OIDC identity token exchanged for a cache token",
    "pull-requests": "for the pull request comment when something failed",
  };
  const perms = (job: "build" | "cache-only") =>
    Object.entries(jobPermissions(job, auth))
      .map(([k, v]) => {
        const use =
          k === "statuses"
            ? job === "build"
              ? "for a commit status per target of its system"
              : `for the per-target statuses and "${AGGREGATE_CONTEXT}"`
            : uses[k];
        return `${k}: ${v} (${use})`;
      })
      .join(", ");
  const prs = wiring.oidc
    ? "Pull requests get no cache token (forks get no OIDC identity token, and trust rules for the default branch do not match them): they build and read the cache but do not push."
    : "Pull requests from forks get no secrets: they build and read the cache but do not push.";
  const head = header([
    `Generated by \`nixcache workflow\`: builds the target set on one runner per system and pushes it to the cache; then Cache Only checks that every target and its closure is substitutable from the cache plus cache.nixos.org and sets the commit status "${AGGREGATE_CONTEXT}". ${prs}`,
    { literal: `From: the flake ${o.flake ?? "."} (systems of its target set: ${systems.join(", ")}),` },
    {
      literal: `${o.config !== undefined ? `config ${o.config}` : "its garnix.yaml (or Garnix's default selection)"}, cache ${o.cache}.`,
    },
    { literal: "Do not edit by hand; regenerate with:" },
    { literal: `  ${regenerateCommand(o)}` },
    { literal: "and guard against hand edits in CI with the same command plus --check." },
    "No target is listed here: the nixcache Action reads the config at run time, so the build and Cache Only cannot select different targets.",
    { literal: "Jobs and what their GITHUB_TOKEN may do (the workflow's default: contents: read):" },
    { item: `build (one per system): ${perms("build")}; the other systems' targets are left to their jobs.` },
    {
      item: `Cache Only (after the build jobs of every system; not for forks' pull requests, whose token may not set statuses): ${perms("cache-only")}.`,
    },
    `Require "${AGGREGATE_CONTEXT}" on ${branch} (one check for every system): Settings → Branches → the branch protection rule for ${branch} → Require status checks to pass before merging (or a ruleset's Require status checks to pass), or:`,
    { literal: `  ${requireAggregateHowTo(branch).gh}` },
    "Cache Only was a workflow of its own (cache-only.yml, on workflow_run): as a job here it runs for pull requests too, on the commit that was built, and sets the aggregate once, after every system's build.",
    `Needs: ${wiring.needs.join(", ")}.`,
    { literal: `Pinned by tag: ${CHECKOUT_ACTION}, ${NIX_INSTALLER_ACTION}, ${o.actionRef}.` },
  ]);
  return [{ name: BUILD_WORKFLOW_FILE, content: render(head, workflow) }];
}
