// SQL written once for SQLite and PostgreSQL: a template tag whose values become parameters,
// rendered as `?` (SQLite) or `$n` (PostgreSQL) by the database adapter. The few spellings that
// differ (a list of values as a table, row locks, the binary collation) are fragments here, so a
// query says what it means and each engine gets its own words for it. Pure: no I/O.

export type Engine = "sqlite" | "postgres";

/** A parameter: what both drivers bind (booleans become 1/0 on SQLite). */
export type SqlValue = string | number | boolean | null | Buffer;

/** A piece that renders differently per engine (and may add parameters). */
export interface Fragment {
  readonly fragment: (engine: Engine, param: (v: unknown) => string) => string;
}

type Part = SqlValue | Sql | Fragment;

export class Sql {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly Part[],
  ) {}

  /** The text for `engine` and its parameters, in order. */
  render(engine: Engine): { text: string; params: unknown[] } {
    const params: unknown[] = [];
    const param = (v: unknown): string => {
      params.push(v);
      return engine === "sqlite" ? "?" : `$${params.length}`;
    };
    return { text: this.renderWith(engine, param), params };
  }

  /** Renders into a larger query's parameter list. */
  renderWith(engine: Engine, param: (v: unknown) => string): string {
    let text = this.strings[0] ?? "";
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i];
      if (v instanceof Sql) text += v.renderWith(engine, param);
      else if (isFragment(v)) text += v.fragment(engine, param);
      else text += param(v);
      text += this.strings[i + 1] ?? "";
    }
    return text;
  }
}

function isFragment(v: unknown): v is Fragment {
  return typeof v === "object" && v !== null && "fragment" in v;
}

/** The tag: `sql\`SELECT text FROM narinfos WHERE cache = ${cache}\``. */
export function sql(strings: TemplateStringsArray, ...values: Part[]): Sql {
  return new Sql(strings, values);
}

/** Text spliced in as it is: only for constants of the code (column lists), never for input. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

/** Pieces joined by `separator` (e.g. conditions by " AND "). */
export function join(parts: readonly Sql[], separator: string): Sql {
  if (parts.length === 0) return raw("");
  const strings = ["", ...parts.slice(1).map(() => separator), ""];
  return new Sql(strings, parts);
}

/**
 * A list of texts as a one-column table named `value`, for `x IN ${values(list)}` and
 * `FROM ${values(list)} AS t`: one parameter whatever the length (tens of thousands of hashes),
 * a JSON array read by json_each on SQLite, a text[] unnested on PostgreSQL.
 */
export function values(list: readonly string[]): Fragment {
  return {
    fragment: (engine, param) =>
      engine === "sqlite"
        ? `(SELECT value FROM json_each(${param(JSON.stringify(list))}))`
        : `(SELECT unnest(${param(list)}::text[]) AS value)`,
  };
}

/**
 * A row lock taken by a PostgreSQL SELECT (`FOR UPDATE`, `FOR NO KEY UPDATE`); nothing on SQLite,
 * whose write transactions hold the whole database from their first statement (BEGIN IMMEDIATE).
 */
export function rowLock(clause: "FOR UPDATE" | "FOR NO KEY UPDATE"): Fragment {
  return { fragment: (engine) => (engine === "postgres" ? ` ${clause}` : "") };
}

/**
 * Byte order for ORDER BY on text: SQLite compares bytes already; PostgreSQL's default collation
 * follows the locale, which would order listings differently on each engine.
 */
export const BYTE_ORDER: Fragment = {
  fragment: (engine) => (engine === "postgres" ? ' COLLATE "C"' : ""),
};

/** Text chosen by engine, for the rare spelling with no common form. */
export function byEngine(spellings: Record<Engine, Sql>): Fragment {
  return { fragment: (engine, param) => spellings[engine].renderWith(engine, param) };
}
