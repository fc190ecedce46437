import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, type Context, Effect, Layer, Schema } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { PRIVATE_DIR, privateDatabase } from "../files/privateFiles.js"

/** Every database of this server records its migrations in this table. */
const MIGRATIONS_TABLE = "contree_mcp_migrations"

/**
 * Waits for another process's write lock instead of failing at once (two servers may share a file).
 * With WAL, `synchronous = NORMAL` still survives a crash of the server; it spares an fsync per
 * write, which a finished run's bookkeeping would otherwise wait on.
 */
export const prepareDatabase = (loader: Migrator.Loader) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`PRAGMA busy_timeout = 5000`
    yield* sql`PRAGMA synchronous = NORMAL`
    yield* Migrator.make({})({ loader, table: MIGRATIONS_TABLE })
  })

/** The rows of a query as `schema` reads them: decoded at the boundary, never cast. */
export const decodeRows = <A, I>(schema: Schema.Schema<A, I>) => Schema.decodeUnknown(Schema.Array(schema))

/**
 * A service built by `make` over its own SQLite database at `filename` (`:memory:` for a
 * throwaway one). Parent directories are created (0700); the database is made 0600. Any failure to open or migrate the database,
 * including the driver's exceptions, becomes `cannotOpen(cause)`, so callers can fall back.
 */
export const sqliteService = <I, S, E, R>(
  tag: Context.Tag<I, S>,
  filename: string,
  make: Effect.Effect<S, unknown, SqlClient.SqlClient | R>,
  cannotOpen: (cause: unknown) => E
): Layer.Layer<I, E, Exclude<R, SqlClient.SqlClient | SqliteClient.SqliteClient>> => {
  const database = Layer.unwrapEffect(Effect.sync(() => {
    if (filename !== ":memory:") {
      // What a cache holds (operations, their echoed requests) is the user's alone: 0600, in a new directory 0700.
      mkdirSync(dirname(filename), { recursive: true, mode: PRIVATE_DIR })
      privateDatabase(filename)
    }
    return SqliteClient.layer({ filename })
  }))
  return Layer.effect(tag, make).pipe(
    Layer.provide(database),
    Layer.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Layer.failCause(Cause.map(cause, cannotOpen)) : Layer.fail(cannotOpen(Cause.squash(cause)))
    )
  )
}
