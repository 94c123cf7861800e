import type { Command } from "commander";

type Register = (program: Command) => void;

interface CommandGroup {
  name: string;
  summary: string;
  load: () => Promise<Register>;
}

/**
 * Every top-level command, with the one-line summary `nixcache --help` shows. A command's module
 * (and the heavy libraries behind it: fastify, SQLite, zstd, undici) is imported only when that
 * command runs, so `nixcache nar dump` starts as fast as node does.
 */
const GROUPS: CommandGroup[] = [
  {
    name: "targets",
    summary: "list the flake's target set per system (garnix.yaml semantics)",
    load: async () => (await import("./targets.js")).registerTargetsCommands,
  },
  {
    name: "build",
    summary: "build the target set, skipping what the caches hold, pushing each output as it finishes",
    load: async () => (await import("./build.js")).registerBuildCommands,
  },
  {
    name: "ci",
    summary: "the whole CI job: targets, build, push, verify, one report (embedded cache by default)",
    load: async () => (await import("./ci.js")).registerCiCommands,
  },
  {
    name: "push",
    summary: "push store paths and their closures to a binary cache; only what is missing",
    load: async () => (await import("./push.js")).registerPushCommands,
  },
  {
    name: "verify",
    summary: "check every target (and its closure) is substitutable from the caches and signed",
    load: async () => (await import("./verify.js")).registerVerifyCommands,
  },
  {
    name: "workflow",
    summary:
      "write the GitHub Actions workflow (build+push per system, then Cache Only: verify, the aggregate status) for this flake",
    load: async () => (await import("./workflow.js")).registerWorkflowCommands,
  },
  {
    name: "serve",
    summary: "run the embedded binary cache server",
    load: async () => (await import("./serve.js")).registerServeCommands,
  },
  {
    name: "data",
    summary:
      "copy a server's state to other backends (data directory → PostgreSQL + S3), verified, resumable",
    load: async () => (await import("./data.js")).registerDataCommands,
  },
  {
    name: "cache",
    summary: "create, update (retention, quota) and list caches in a server data directory",
    load: async () => (await import("./cache.js")).registerCacheCommands,
  },
  {
    name: "pin",
    summary: "pin store paths of a server cache: kept with their closures by the GC",
    load: async () => (await import("./pin.js")).registerPinCommands,
  },
  {
    name: "gc",
    summary: "collect garbage in a server's caches: retention, pins, closures, orphan blobs",
    load: async () => (await import("./gc.js")).registerGcCommands,
  },
  {
    name: "token",
    summary: "create, list and revoke tokens of a server data directory; inspect a Cachix token",
    load: async () => (await import("./token.js")).registerTokenCommands,
  },
  {
    name: "provision",
    summary: "create and configure a Cachix(-compatible) cache through its API, idempotently",
    load: async () => (await import("./provision.js")).registerProvisionCommands,
  },
  {
    name: "doctor",
    summary: "check the flake's substituters and keys: alive, valid, signing, covering the targets",
    load: async () => (await import("./doctor.js")).registerDoctorCommands,
  },
  {
    name: "secrets",
    summary: "sync GitHub Actions secrets and variables (dotenv, JSON, env, agenix sources)",
    load: async () => (await import("./secrets.js")).registerSecretsCommands,
  },
  {
    name: "migrate",
    summary: "move from Garnix to your own cache: plan, apply (resumable), status, rollback",
    load: async () => (await import("./migrate.js")).registerMigrateCommands,
  },
  {
    name: "nar",
    summary: "NAR plumbing: dump, hash, ls, cat, extract (byte-compatible with nix-store)",
    load: async () => (await import("./nar.js")).registerNarCommands,
  },
  {
    name: "narinfo",
    summary: "check .narinfo signatures against trusted keys",
    load: async () => (await import("./narinfo.js")).registerNarInfoCommands,
  },
  {
    name: "key",
    summary: "generate signing keys in Nix's format",
    load: async () => (await import("./keys.js")).registerKeyCommands,
  },
];

/**
 * Registers the command named in `args` in full, and every other one by name and summary only
 * (enough for `nixcache --help` and for commander's "unknown command" suggestions).
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const words = args.filter((a) => !a.startsWith("-"));
  const wanted = words[0] === "help" ? words[1] : words[0];
  for (const group of GROUPS) {
    if (group.name === wanted) (await group.load())(program);
    else program.command(group.name).description(group.summary);
  }
}

/** Registers every command in full (for documentation and tests that walk the whole tree). */
export async function registerAllCommands(program: Command): Promise<void> {
  for (const group of GROUPS) (await group.load())(program);
}
