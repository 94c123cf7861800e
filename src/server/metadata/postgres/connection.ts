// Connecting to PostgreSQL: the pool's settings, which failures mean "the database is unreachable"
// (a 503, retried by clients, while the pool reconnects by itself), and the LISTEN connection that
// tells a store about writes by other replicas.
import pg from "pg";
import { NixcacheError } from "../../../util/errors.js";
import { DbError } from "../../errors.js";
import { redactUrl } from "../../locations.js";

/** The channel every write transaction notifies; the payload names the writing store object. */
export const CHANGES_CHANNEL = "nixcache_changes";

/** BIGINT (ms timestamps, sizes, counts) as numbers: all of ours are far below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary"
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Client settings from a `postgres://` URL. What the URL leaves out comes from pg's own defaults:
 * the PG* environment variables (PGHOST, PGUSER, PGPASSWORD, …) and, when neither the URL nor
 * PGPASSWORD gives a password, PGPASSFILE or ~/.pgpass (pg reads it when the password is null,
 * which is what a URL without one yields).
 */
export function clientConfig(url: string, o: { connectTimeoutMs?: number } = {}): pg.ClientConfig {
  return {
    connectionString: url,
    types: TYPES,
    application_name: "nixcache",
    connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
    // A peer gone silent (a network partition) is noticed by TCP keepalive within minutes, not the
    // system's default two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * pg leaves the socket open when a connection attempt fails on the client's side (a SCRAM
 * challenge with no password to answer it): it would linger until the server's authentication
 * timeout, one per attempt. This client closes it.
 */
export class ClosingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: (err: Error) => void): void;
  override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
    if (!callback)
      return super.connect().catch((e: unknown) => {
        this.connection.stream.destroy();
        throw e;
      });
    super.connect((err: Error) => {
      if (err) this.connection.stream.destroy();
      callback(err);
    });
    return undefined;
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

// Server states that end or refuse sessions: shutdown, crash recovery, start-up, no free slots.
const SERVER_GONE = new Set(["57P01", "57P02", "57P03", "53300"]);

/** Whether `e` says the database cannot be reached (as opposed to refusing one statement). */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (NETWORK_CODES.has(code) || code.startsWith("08") || SERVER_GONE.has(code)))
    return true;
  const message = e instanceof Error ? e.message : "";
  // pg's own messages for a socket that closed or never opened in time.
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i.test(
    message,
  );
}

function describe(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return describe(e.errors[0]);
  if (e instanceof Error && /client password must be a (non-empty )?string/.test(e.message))
    return "the server asks for a password and none was given (in the URL, PGPASSWORD, or PGPASSFILE / ~/.pgpass)";
  if (e instanceof Error) return e.message || String((e as { code?: unknown }).code ?? e.name);
  return String(e);
}

/** Turns database failures into the server's errors; messages name the server without a password. */
export class ErrorMapper {
  readonly where: string;
  private readonly password: string;

  constructor(url: string) {
    this.where = redactUrl(url);
    let password = "";
    try {
      password = decodeURIComponent(new URL(url).password);
    } catch {}
    this.password = password;
  }

  private clean(message: string): string {
    return this.password.length >= 3 ? message.split(this.password).join("***") : message;
  }

  /** A DbError (unavailable) for connection failures; anything else is returned as it is. */
  map(e: unknown): unknown {
    if (e instanceof DbError || !isConnectionError(e)) return e;
    return new DbError(
      "unavailable",
      this.clean(`metadata database unreachable: ${this.where}: ${describe(e)}`),
    );
  }

  /** Any failure while opening: the database was not usable. */
  opening(e: unknown): unknown {
    if (e instanceof NixcacheError) return e;
    const what = isConnectionError(e) ? "unreachable" : "could not be opened";
    return new DbError(
      "unavailable",
      this.clean(`metadata database ${what}: ${this.where}: ${describe(e)}`),
      {
        cause: e,
      },
    );
  }
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/**
 * The `external` change counter: one connection that LISTENs on CHANGES_CHANNEL and counts the
 * notifications of other store objects. When it drops it reconnects with backoff; until it is
 * back, every read of the counter moves it, so caches in front re-read instead of trusting what
 * they hold (notifications sent meanwhile are lost).
 */
export class ChangeListener {
  private count = 0;
  private client: ClosingClient | undefined;
  private closed = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    /** This store object's payload: its own writes are counted by `local`. */
    private readonly self: string,
  ) {}

  /** Connects the first time; a failure here fails opening the store. */
  async start(): Promise<void> {
    await this.connect();
  }

  value(): number {
    if (this.client === undefined) this.count++;
    return this.count;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    const c = new ClosingClient(this.config);
    c.on("error", () => this.lost(c));
    c.on("end", () => this.lost(c));
    c.on("notification", (n) => {
      if (n.payload !== this.self) this.count++;
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (e) {
      c.end().catch(() => {});
      throw e;
    }
    if (this.closed) {
      await c.end().catch(() => {});
      return;
    }
    this.client = c;
    this.backoff = MIN_BACKOFF_MS;
    this.count++; // whatever was notified while no one listened
  }

  private lost(c: ClosingClient): void {
    if (this.client !== c) return;
    this.client = undefined;
    c.end().catch(() => {});
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().catch(() => this.schedule());
    }, this.backoff);
    this.timer.unref();
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
