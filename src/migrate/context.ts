// What every step of a migration shares: the options, the repository, the cache moved to, the CI
// provider moved from, the state file, and what earlier steps of this run found out.
import path from "node:path";
import type { Octokit } from "@octokit/rest";
import { CachixApi } from "../caches/cachix/client.js";
import { cacheToken, cachixApiUrl } from "../caches/credentials.js";
import { githubClient, githubToken } from "../github/rest.js";
import { type FlakeNixConfig, readFlakeNixConfig } from "../local-nix/flake-nix-config.js";
import { type FlakeSource, resolveFlakeRef } from "../local-nix/flake-ref.js";
import { type ResolvedTargets, resolveTargets } from "../targets/resolve.js";
import { NixcacheError } from "../util/errors.js";
import { readTextIfExists } from "../util/files.js";
import type { MigrationState, StepId } from "./state.js";

/** The CI provider a repository moves away from: its config file and its (dead) cache. */
export interface FromProvider {
  name: string;
  /** Its config file in the repository (removed once the new cache is proven). */
  configFile: string;
  /** Its substituters, removed from `nixConfig` once the new cache is proven. */
  substituters: readonly string[];
  /** Whether a trusted public key is its (removed along with its substituters). */
  isItsKey: (key: string) => boolean;
}

export const PROVIDERS: Readonly<Record<string, FromProvider>> = {
  garnix: {
    name: "garnix",
    configFile: "garnix.yaml",
    substituters: ["https://cache.garnix.io", "https://cache.garnix.io/"],
    isItsKey: (k) => k.startsWith("cache.garnix.io:"),
  },
};

/**
 * Where the workflows read the target set from once the provider's config is gone: a copy of
 * garnix.yaml (same semantics), so removing garnix.yaml does not change what CI builds.
 */
export const TARGETS_FILE = ".github/nixcache-targets.yaml";

export interface MigrateOptions {
  /** The repository (a local flake directory); default the working directory. */
  dir?: string;
  /** The cache moved to: `cachix://NAME` or `http(s)://HOST/NAME` (a nixcache server). */
  to: string;
  /** The CI provider moved from (default garnix). */
  from?: string;
  /** Token for the cache and its API (default by convention: CACHIX_AUTH_TOKEN / NIXCACHE_TOKEN). */
  token?: string;
  /** For cachix://: the Cachix(-compatible) API (default $NIXCACHE_CACHIX_API, else Cachix's). */
  cachixApi?: string;
  /** The cache's public keys, when its API cannot say (a plain Nix HTTP cache). */
  trustedKeys?: readonly string[];
  /** The GitHub repository `OWNER/NAME` whose secrets and variables to set. */
  repo?: string;
  githubToken?: string;
  githubApiUrl?: string;
  /** The write token CI pushes with, put into the repository secret (default: $<secret name>). */
  ciToken?: string;
  /** `uses:` of the nixcache Action in the workflows. */
  actionRef: string;
  branch?: string;
  runners?: Readonly<Record<string, string>>;
  /** Caches the closure may also come from in verify (e.g. cache.nixos.org), with their keys. */
  upstreams?: readonly string[];
  upstreamKeys?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** The cache moved to, as the steps need it. */
export interface TargetCache {
  url: string;
  kind: "cachix" | "http";
  /** The cache's name (cachix://NAME, or the last path segment of a server's URL). */
  name: string;
  /** The Cachix-compatible API that provisions it (a nixcache server serves one at /api/v1). */
  apiUrl: string;
  /** The secret the workflows read the write token from, and the variables they read. */
  secret: string;
  variables: Record<string, string>;
}

export function parseTargetCache(to: string, cachixApi?: string, env = process.env): TargetCache {
  const cachix = /^cachix:\/\/([A-Za-z0-9][A-Za-z0-9._-]*)\/?$/i.exec(to);
  if (cachix?.[1])
    return {
      url: to,
      kind: "cachix",
      name: cachix[1],
      apiUrl: cachixApiUrl(cachixApi, env),
      secret: "CACHIX_AUTH_TOKEN",
      variables: { CACHIX_CACHE_NAME: cachix[1] },
    };
  const http = /^(https?:\/\/[^/\s]+)\/([A-Za-z0-9][A-Za-z0-9._-]*)\/?$/i.exec(to);
  if (http?.[1] && http[2])
    return {
      url: to.replace(/\/+$/, ""),
      kind: "http",
      name: http[2],
      apiUrl: `${http[1]}/api/v1`,
      secret: "NIXCACHE_TOKEN",
      variables: {},
    };
  throw new NixcacheError(
    "usage",
    `--to ${JSON.stringify(to)}: expected cachix://NAME or http(s)://HOST/NAME (a cache CI can reach)`,
  );
}

/** What the cache step found: where Nix substitutes from and the keys it signs with. */
export interface CacheFacts {
  substituter: string;
  publicKeys: string[];
}

export class MigrationContext {
  readonly repo: string;
  readonly flake: FlakeSource;
  readonly cache: TargetCache;
  readonly from: FromProvider;
  readonly env: NodeJS.ProcessEnv;
  /** Set by the cache step. */
  cacheFacts: CacheFacts | undefined;
  /** Set by the verify step: whether every target is substitutable from the new cache. */
  verifyPassed = false;
  private resolved: Promise<ResolvedTargets> | undefined;

  constructor(
    readonly opts: MigrateOptions,
    readonly state: MigrationState,
    /** False for `plan`: nothing is written. */
    readonly writing: boolean,
  ) {
    this.env = opts.env ?? process.env;
    this.repo = path.resolve(opts.dir ?? ".");
    const flake = resolveFlakeRef(this.repo);
    if (!flake?.localDir) throw new NixcacheError("usage", `${this.repo} holds no flake.nix`);
    this.flake = flake;
    this.cache = parseTargetCache(opts.to, opts.cachixApi, this.env);
    const from = PROVIDERS[opts.from ?? "garnix"];
    if (!from)
      throw new NixcacheError(
        "usage",
        `--from ${JSON.stringify(opts.from)}: known providers are ${Object.keys(PROVIDERS).join(", ")}`,
      );
    this.from = from;
  }

  abs(rel: string): string {
    return path.join(this.repo, rel);
  }

  /** The token for the cache and its API (never printed). */
  get token(): string | undefined {
    return cacheToken(this.cache.url, this.opts.token, this.env);
  }

  /** An API client for the cache's Cachix-compatible API; the caller closes it. */
  cachixApi(): CachixApi {
    return new CachixApi({ apiUrl: this.cache.apiUrl, token: this.token, retry: { attempts: 3 } });
  }

  /** The target-set config the migration reads: the copy once it exists, else the provider's own. */
  async configFile(): Promise<string | undefined> {
    return (await readTextIfExists(this.abs(TARGETS_FILE))) !== undefined ? TARGETS_FILE : undefined;
  }

  /** The flake's target set (evaluated once per run: the steps do not change it). */
  targets(): Promise<ResolvedTargets> {
    this.resolved ??= (async () => {
      const configFile = await this.configFile();
      return resolveTargets({
        flake: this.repo,
        cwd: this.repo,
        ...(configFile ? { configFile } : {}),
        ...(this.opts.branch ? { branch: this.opts.branch } : {}),
      });
    })();
    return this.resolved;
  }

  /** The flake's nixConfig as Nix evaluates it now. */
  nixConfig(): Promise<FlakeNixConfig> {
    return readFlakeNixConfig(this.flake);
  }

  /** The GitHub repository and a token for it, or undefined when either is not given. */
  github(): { repo: string; token: string } | undefined {
    const token = this.opts.githubToken ?? githubToken(this.env);
    return this.opts.repo && token ? { repo: this.opts.repo, token } : undefined;
  }

  /** A GitHub REST client with `token` (at --github-api-url, else $GITHUB_API_URL, else GitHub's). */
  githubClient(token: string): Promise<Octokit> {
    return githubClient(this.opts.githubApiUrl ? { token, apiUrl: this.opts.githubApiUrl } : { token });
  }

  /** The default branch: the one the workflows build and push (--branch, default main). */
  get branch(): string {
    return this.opts.branch ?? "main";
  }

  /** The step as an earlier apply recorded it. */
  recorded(id: StepId) {
    return this.state.steps[id];
  }
}
