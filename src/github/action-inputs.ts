// The nixcache Action's inputs (action.yml) and the run's context, read with @actions/core. The
// token and the signing key are masked (`::add-mask::`) as the very first thing, before anything
// that could print them.
import * as core from "@actions/core";
import { NixcacheError } from "../util/errors.js";
import { readEventPayload } from "./run-env.js";

/** What `oidc-audience` defaults to (and a nixcache server expects unless configured otherwise). */
export const DEFAULT_OIDC_AUDIENCE = "nixcache";

export const ACTION_COMMANDS = ["build", "push", "verify", "ci"] as const;
export type ActionCommand = (typeof ACTION_COMMANDS)[number];

export interface ActionInputs {
  command: ActionCommand;
  caches: string[];
  token?: string;
  /** A Nix secret key, `name:base64` (the text, as a secret holds it). */
  signingKey?: string;
  config?: string;
  flake: string;
  upstreams: string[];
  extraArgs: string[];
  /** Get the token by exchanging the job's OIDC identity token at the caches' server. */
  oidc: boolean;
  /** The audience the identity token is requested for (the server's configured one). */
  oidcAudience: string;
  /** For commit statuses and the pull-request comment (`github-token`, default the job's token). */
  githubToken?: string;
}

/** A boolean input as the runner passes it (YAML 1.2 core schema's spellings); empty is false. */
function booleanInput(name: string): boolean {
  const v = core.getInput(name);
  if (["", "false", "False", "FALSE"].includes(v)) return false;
  if (["true", "True", "TRUE"].includes(v)) return true;
  throw new NixcacheError("usage", `input ${name}: ${JSON.stringify(v)} is not true or false`);
}

/** Reads the inputs; the token and key are masked before anything else is printed. */
export function readActionInputs(): ActionInputs {
  const token = core.getInput("token");
  const signingKey = core.getInput("signing-key");
  const githubToken = core.getInput("github-token");
  if (token) core.setSecret(token);
  if (githubToken) core.setSecret(githubToken);
  if (signingKey) {
    core.setSecret(signingKey);
    // The secret half alone too: a message could quote just that.
    const secret = signingKey.slice(signingKey.indexOf(":") + 1);
    if (secret && secret !== signingKey) core.setSecret(secret);
  }
  const command = core.getInput("command") || "build";
  if (!(ACTION_COMMANDS as readonly string[]).includes(command))
    throw new NixcacheError(
      "usage",
      `input command: ${JSON.stringify(command)} is not one of ${ACTION_COMMANDS.join(", ")}`,
    );
  const lines = (name: string) =>
    core
      .getMultilineInput(name)
      .map((l) => l.trim())
      .filter(Boolean);
  const out: ActionInputs = {
    command: command as ActionCommand,
    caches: lines("cache"),
    flake: core.getInput("flake") || ".",
    upstreams: lines("upstream"),
    extraArgs: core.getInput("extra-args").split(/\s+/).filter(Boolean),
    oidc: booleanInput("oidc"),
    oidcAudience: core.getInput("oidc-audience") || DEFAULT_OIDC_AUDIENCE,
  };
  if (out.oidc && token)
    throw new NixcacheError(
      "usage",
      "input oidc: true gets the token from the server; leave input token empty",
    );
  if (token) out.token = token;
  if (githubToken) out.githubToken = githubToken;
  if (signingKey) out.signingKey = signingKey;
  const config = core.getInput("config");
  if (config) out.config = config;
  return out;
}

/** What the run is: the event and, for a pull request, whether it comes from a fork. */
export interface RunContext {
  event: string;
  /** A pull request from another repository: GitHub gives it no secrets. */
  forkPullRequest: boolean;
  /** The branch being built (garnix.yaml `branch:` sections), when there is one. */
  branch?: string;
  /** Where the report and other files of this job go. */
  tempDir: string;
}

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const payload = readEventPayload(env.GITHUB_EVENT_PATH);
  const event = env.GITHUB_EVENT_NAME ?? "";
  const head = payload.pull_request?.head?.repo?.full_name;
  const forkPullRequest =
    event.startsWith("pull_request") && (head === undefined || head !== env.GITHUB_REPOSITORY);
  const ctx: RunContext = {
    event,
    forkPullRequest,
    tempDir: env.RUNNER_TEMP || "/tmp",
  };
  const branch =
    env.GITHUB_HEAD_REF ||
    payload.workflow_run?.head_branch ||
    (env.GITHUB_REF?.startsWith("refs/heads/") ? env.GITHUB_REF.slice("refs/heads/".length) : undefined);
  if (branch) ctx.branch = branch;
  return ctx;
}
