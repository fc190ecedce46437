import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Clock, Effect, type Layer, Option, Schema } from "effect"
import { CacheError, type CacheEntry, ContreeCache, type ListOptions } from "../services/ContreeCache.js"
import { decodeRows, prepareDatabase, sqliteService } from "./sqliteService.js"

const MAX_DEPTH = 50
const fieldName = /^[A-Za-z_][A-Za-z0-9_.]*$/

// The table matches the reference server's, so an existing cache.db is reused rather than clobbered.
const migrations = Migrator.fromRecord({
  "0001_cache": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS cache (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      parent_id INTEGER REFERENCES cache(id),
      data TEXT NOT NULL,
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
      updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
      UNIQUE(kind, key)
    )`
    yield* sql`CREATE INDEX IF NOT EXISTS idx_cache_kind ON cache(kind)`
    yield* sql`CREATE INDEX IF NOT EXISTS idx_cache_parent ON cache(parent_id)`
    yield* sql`CREATE INDEX IF NOT EXISTS idx_cache_created ON cache(created_at)`
  })
})

/** A row as stored (the reference server writes the same table): `data` is JSON text. */
const Row = Schema.Struct({
  id: Schema.Number,
  kind: Schema.String,
  key: Schema.String,
  parent_id: Schema.NullOr(Schema.Number),
  data: Schema.parseJson(),
  created_at: Schema.String,
  updated_at: Schema.String
})

const toEntry = (row: typeof Row.Type): CacheEntry => ({
  id: row.id,
  kind: row.kind,
  key: row.key,
  parentId: row.parent_id,
  data: row.data,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at)
})

const entries = (rows: ReadonlyArray<unknown>) => Effect.map(decodeRows(Row)(rows), (decoded) => decoded.map(toEntry))

const fail = (message: string) => (cause: unknown) => new CacheError({ message, cause })

/** The cache over an already provided `SqlClient`. */
export const makeContreeCache = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* prepareDatabase(migrations)

  const one = (kind: string, key: string) =>
    sql`SELECT * FROM cache WHERE kind = ${kind} AND key = ${key}`.pipe(Effect.flatMap(entries), Effect.map((rows) => Option.fromNullable(rows[0])))

  const get = (kind: string, key: string) => one(kind, key).pipe(Effect.mapError(fail("cache read failed")))

  const put = (kind: string, key: string, data: unknown, parent?: { readonly kind: string; readonly key: string }) =>
    Effect.gen(function*() {
      const parentId = parent === undefined
        ? null
        : Option.getOrNull(Option.map(yield* one(parent.kind, parent.key), (e) => e.id))
      const now = new Date(yield* Clock.currentTimeMillis).toISOString()
      const json = JSON.stringify(data)
      yield* sql`INSERT INTO cache (kind, key, parent_id, data, created_at, updated_at)
        VALUES (${kind}, ${key}, ${parentId}, ${json}, ${now}, ${now})
        ON CONFLICT(kind, key) DO UPDATE SET parent_id = excluded.parent_id, data = excluded.data,
        updated_at = excluded.updated_at`
      return Option.getOrThrow(yield* one(kind, key))
    }).pipe(Effect.mapError(fail("cache write failed")))

  const remove = (kind: string, key: string) =>
    sql`DELETE FROM cache WHERE kind = ${kind} AND key = ${key} RETURNING id`.pipe(
      Effect.map((rows) => rows.length > 0),
      Effect.mapError(fail("cache delete failed"))
    )

  const list = (kind: string, options: ListOptions = {}) =>
    Effect.gen(function*() {
      const filters = Object.entries(options.where ?? {})
      for (const [field] of filters) {
        if (!fieldName.test(field)) return yield* new CacheError({ message: `Invalid filter field name: ${field}` })
      }
      // json_extract gives 1 and 0 for JSON booleans, and SQLite cannot bind a boolean anyway.
      const conditions = [
        sql`kind = ${kind}`,
        ...filters.map(([field, value]) =>
          sql`json_extract(data, ${"$." + field}) = ${typeof value === "boolean" ? Number(value) : value}`
        )
      ]
      return yield* sql`SELECT * FROM cache WHERE ${sql.and(conditions)}
        ORDER BY created_at DESC LIMIT ${options.limit ?? 100}`.pipe(Effect.flatMap(entries), Effect.mapError(fail("cache list failed")))
    })

  const ancestors = (kind: string, key: string) =>
    sql`WITH RECURSIVE chain(id, depth) AS (
        SELECT parent_id, 1 FROM cache WHERE kind = ${kind} AND key = ${key} AND parent_id IS NOT NULL
        UNION ALL
        SELECT c.parent_id, chain.depth + 1 FROM cache c JOIN chain ON c.id = chain.id
        WHERE c.parent_id IS NOT NULL AND chain.depth < ${MAX_DEPTH}
      )
      SELECT cache.*, chain.depth FROM chain JOIN cache ON cache.id = chain.id ORDER BY chain.depth`.pipe(
      Effect.flatMap(entries),
      Effect.mapError(fail("cache lineage query failed"))
    )

  const descendants = (kind: string, key: string) =>
    sql`WITH RECURSIVE tree(id, depth) AS (
        SELECT id, 0 FROM cache WHERE kind = ${kind} AND key = ${key}
        UNION ALL
        SELECT c.id, tree.depth + 1 FROM cache c JOIN tree ON c.parent_id = tree.id WHERE tree.depth < ${MAX_DEPTH}
      )
      SELECT cache.*, tree.depth FROM tree JOIN cache ON cache.id = tree.id
      WHERE tree.depth > 0 ORDER BY tree.depth, cache.id LIMIT ${MAX_DEPTH}`.pipe(
      Effect.flatMap(entries),
      Effect.mapError(fail("cache lineage query failed"))
    )

  const prune = (days: number) =>
    days <= 0
      ? Effect.succeed(0)
      : Effect.gen(function*() {
        const cutoff = new Date((yield* Clock.currentTimeMillis) - days * 86_400_000).toISOString()
        // Children of pruned rows keep their data but lose the link, as a foreign key would demand.
        yield* sql`UPDATE cache SET parent_id = NULL WHERE parent_id IN (SELECT id FROM cache WHERE created_at < ${cutoff})`
        const rows = yield* sql`DELETE FROM cache WHERE created_at < ${cutoff} RETURNING id`
        return rows.length
      }).pipe(Effect.mapError(fail("cache prune failed")))

  return ContreeCache.of({ get, put, delete: remove, list, ancestors, descendants, prune })
})

/**
 * The SQLite cache at `filename` (`:memory:` for a throwaway one). Parent directories are created.
 * Any failure to open it (including the driver's exceptions) is a CacheError, so callers can fall back.
 */
export const ContreeCacheSqlite = (filename: string): Layer.Layer<ContreeCache, CacheError> =>
  sqliteService(ContreeCache, filename, makeContreeCache, fail(`cannot open the cache database at ${filename}`))
