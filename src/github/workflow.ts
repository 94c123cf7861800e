// `nixcache workflow`: the two GitHub Actions workflows of a flake, generated from one source so
// they cannot drift. "Nix Build Cache" builds the target set on one runner per system and pushes
// it; "Cache Only" verifies afterwards that every target (and its closure) is substitutable.
// Neither lists targets: both run the nixcache Action, which reads the same config at run time.
// Only the systems of the target set (which runners to start) are fixed at generation time.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import { NixcacheError } from "../util/errors.js";
import { readTextIfExists } from "../util/files.js";

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
export const NIXOS_CACHE_URL = "https://cache.nixos.org";

export const BUILD_WORKFLOW_FILE = "nix-build-cache.yml";
export const VERIFY_WORKFLOW_FILE = "cache-only.yml";
export const BUILD_WORKFLOW_NAME = "Nix Build Cache";
export const VERIFY_WORKFLOW_NAME = "Cache Only";

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
  /** The default branch: pushes to it build and push; Cache Only follows its builds. */
  branch?: string;
  /** The output directory as the user named it (only for the regenerate command in the header). */
  out?: string;
  /** How to wait for the cache in Cache Only (`verify --wait`). */
  verifyWait?: string;
  /**
   * How the jobs get their cache token: `token`, a repository secret (default), or `oidc`, the
   * job's OIDC identity token exchanged at the nixcache server (no stored secret).
   */
  auth?: WorkflowAuth;
}

export const WORKFLOW_AUTHS = ["token", "oidc"] as const;
export type WorkflowAuth = (typeof WORKFLOW_AUTHS)[number];

export interface GeneratedFile {
  /** File name inside the workflows directory. */
  name: string;
  content: string;
}

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

function header(
  o: WorkflowOptions,
  what: string,
  systems: readonly string[],
  needs: readonly string[],
): string {
  const cmd = regenerateCommand(o);
  const lines = [
    ...wrap(`Generated by \`nixcache workflow\`: ${what}`, 98),
    `From: the flake ${o.flake ?? "."} (systems of its target set: ${systems.join(", ")}),`,
    `${o.config !== undefined ? `config ${o.config}` : "its garnix.yaml (or Garnix's default selection)"}, cache ${o.cache}.`,
    "Do not edit by hand; regenerate with:",
    `  ${cmd}`,
    "and guard against hand edits in CI with the same command plus --check.",
    "No target is listed here: the nixcache Action reads the config at run time, so the build and",
    "Cache Only cannot select different targets.",
    `Needs: ${needs.join(", ")}.`,
    `Pinned by tag: ${CHECKOUT_ACTION}, ${NIX_INSTALLER_ACTION}, ${o.actionRef}.`,
  ];
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

/** Both workflow files, deterministic for the same options (so --check can compare). */
export function generateWorkflows(o: WorkflowOptions): GeneratedFile[] {
  const wiring = cacheWiring(o.cache, o.auth);
  // OIDC: the job asks GitHub for its identity token, which needs id-token: write.
  const permissions = wiring.oidc ? { contents: "read", "id-token": "write" } : { contents: "read" };
  const jobs = runnersFor(o.systems, o.runners);
  if (jobs.length === 0)
    throw new NixcacheError("usage", "the target set is empty: there is nothing for a workflow to build");
  const branch = o.branch ?? "main";
  const systems = jobs.map((j) => j.system);
  const checkout = { uses: CHECKOUT_ACTION };
  const installNix = { name: "Install Nix", uses: NIX_INSTALLER_ACTION };

  const build = {
    name: BUILD_WORKFLOW_NAME,
    on: {
      push: { branches: [branch] },
      pull_request: null,
      workflow_dispatch: null,
    },
    permissions,
    concurrency: { group: `${gh("github.workflow")}-${gh("github.ref")}`, "cancel-in-progress": true },
    jobs: {
      build: {
        name: `build (${gh("matrix.system")})`,
        "runs-on": gh("matrix.runner"),
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
            with: { ...actionInputs(o, wiring, "build"), "extra-args": "--keep-going" },
          },
        ],
      },
    },
  };

  const verify = {
    name: VERIFY_WORKFLOW_NAME,
    on: {
      workflow_run: { workflows: [BUILD_WORKFLOW_NAME], types: ["completed"], branches: [branch] },
      workflow_dispatch: null,
    },
    permissions,
    concurrency: { group: `${gh("github.workflow")}-${gh("github.ref")}`, "cancel-in-progress": true },
    jobs: {
      verify: {
        name: "verify the cache",
        // Only builds of pushes to the default branch (a fork's pull request may have a branch
        // of the same name), and not runs that were cancelled by a newer one.
        if: "github.event_name == 'workflow_dispatch' || (github.event.workflow_run.event == 'push' && github.event.workflow_run.conclusion != 'cancelled')",
        "runs-on": VERIFY_RUNNER,
        steps: [
          { ...checkout, with: { ref: gh("github.event.workflow_run.head_sha || github.sha") } },
          installNix,
          {
            name: "nixcache verify",
            uses: o.actionRef,
            with: {
              ...actionInputs(o, wiring, "verify"),
              upstream: NIXOS_CACHE_URL,
              "extra-args": `--closure --wait ${o.verifyWait ?? "45m"} --interval 30s`,
            },
          },
        ],
      },
    },
  };

  const needsRead = wiring.oidc
    ? ["for a private cache, a trust rule granting this repository's default branch read (OIDC)"]
    : wiring.needs.map((n) => n.replace("(write token)", "(read access for private caches)"));
  const prs = wiring.oidc
    ? "Pull requests get no cache token (forks get no OIDC identity token, and trust rules for the default branch do not match them): they build and read the cache but do not push."
    : "Pull requests from forks get no secrets: they build and read the cache but do not push.";
  return [
    {
      name: BUILD_WORKFLOW_FILE,
      content: render(
        header(
          o,
          `builds the target set on one runner per system and pushes it to the cache. ${prs}`,
          systems,
          wiring.needs,
        ),
        build,
      ),
    },
    {
      name: VERIFY_WORKFLOW_FILE,
      content: render(
        header(
          o,
          `after each "${BUILD_WORKFLOW_NAME}" run on ${branch} (and on dispatch), checks read-only that every target and its closure is substitutable from the cache plus cache.nixos.org.`,
          systems,
          needsRead,
        ),
        verify,
      ),
    },
  ];
}

export interface CheckResult {
  /** Files that match. */
  ok: string[];
  /** Files that differ or are missing, with their unified diff (on-disk → generated). */
  differ: Array<{ name: string; diff: string }>;
}

/** Compares the files in `dir` with what would be generated. */
export async function checkWorkflows(dir: string, files: readonly GeneratedFile[]): Promise<CheckResult> {
  const res: CheckResult = { ok: [], differ: [] };
  for (const f of files) {
    const file = path.join(dir, f.name);
    const disk = await readTextIfExists(file);
    if (disk === f.content) {
      res.ok.push(f.name);
      continue;
    }
    const diff = createTwoFilesPatch(
      disk === undefined ? "/dev/null" : `a/${file}`,
      `b/${file}`,
      disk ?? "",
      f.content,
      disk === undefined ? "(missing)" : "on disk",
      "generated",
    );
    res.differ.push({ name: f.name, diff });
  }
  return res;
}

/** Writes the files into `dir` (created if needed); returns the names whose content changed. */
export async function writeWorkflows(dir: string, files: readonly GeneratedFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const changed: string[] = [];
  for (const f of files) {
    const file = path.join(dir, f.name);
    if ((await readTextIfExists(file)) === f.content) continue;
    await writeFile(file, f.content);
    changed.push(f.name);
  }
  return changed;
}
