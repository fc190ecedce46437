import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Effect, Layer } from "effect"
import { looksSecret, redactSecretEnv } from "../../domain/redact.js"
import { privateDatabase } from "../../files/privateFiles.js"
import { internal, type LocalEngineError } from "../LocalEngineError.js"

/**
 * The engine's records: images (a stack of layer ids, lowest first), tags, layers (with the
 * opaque directories found when they were committed), the compressed blob digest each imported
 * layer came from, uploaded files and operations. Times are
 * epoch milliseconds. Several server processes may share one database (WAL mode): `owner` and
 * `sandbox` say which process runs an operation and which process to kill to cancel it.
 */
const parseObject = (json: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(json)
    return typeof value === "object" && value !== null ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

const migrations = Migrator.fromRecord({
  "0001_engine": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
    yield* sql`CREATE TABLE layers (
      id TEXT PRIMARY KEY,
      opaque TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`
    yield* sql`CREATE TABLE images (
      uuid TEXT PRIMARY KEY,
      layers TEXT NOT NULL,
      parent TEXT,
      tag TEXT UNIQUE,
      source TEXT NOT NULL,
      operation TEXT,
      created_at INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX images_created ON images(created_at)`
    yield* sql`CREATE TABLE files (
      uuid TEXT PRIMARY KEY,
      sha256 TEXT NOT NULL UNIQUE,
      size INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    )`
    yield* sql`CREATE TABLE operations (
      uuid TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      status TEXT NOT NULL,
      error TEXT,
      image TEXT,
      result_image TEXT,
      metadata TEXT NOT NULL,
      owner TEXT NOT NULL,
      sandbox TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER
    )`
    yield* sql`CREATE INDEX operations_created ON operations(created_at)`
    yield* sql`CREATE INDEX operations_status ON operations(status)`
  }),
  // Imports: an image remembers the manifest it came from (a re-import finds it) and the config's run
  // defaults (inherited by images committed on it); a layer remembers the blob it was unpacked from.
  "0002_import": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE images ADD COLUMN manifest TEXT`
    yield* sql`ALTER TABLE images ADD COLUMN config TEXT`
    yield* sql`CREATE UNIQUE INDEX images_manifest ON images(manifest) WHERE manifest IS NOT NULL`
    yield* sql`CREATE TABLE layer_blobs (
      digest TEXT PRIMARY KEY,
      layer TEXT NOT NULL REFERENCES layers(id)
    )`
  }),
  // The layers that place a run's files (FilesLayer), by the digest of what they hold: more than
  // one per key when a stack already holds one. A run's echoed files, apart from its row.
  "0003_files_layers": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE files_layers (
      key TEXT NOT NULL,
      layer TEXT NOT NULL REFERENCES layers(id),
      used_at INTEGER NOT NULL,
      PRIMARY KEY (key, layer)
    ) WITHOUT ROWID`
    yield* sql`CREATE TABLE operation_files (key TEXT PRIMARY KEY, files TEXT NOT NULL)`
    yield* sql`ALTER TABLE operations ADD COLUMN files_key TEXT`
  }),
  // Runs recorded before their env was stored redacted (see RunRequest): redacted now.
  "0004_redact_env": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ uuid: string; metadata: string }>`SELECT uuid, metadata FROM operations WHERE kind = 'instance'`
    for (const row of rows) {
      const metadata = parseObject(row.metadata)
      const env = metadata?.["env"]
      if (typeof env !== "object" || env === null || !Object.keys(env).some(looksSecret)) continue
      const redacted = JSON.stringify({ ...metadata!, env: redactSecretEnv(env as Record<string, unknown>) })
      yield* sql`UPDATE operations SET metadata = ${redacted} WHERE uuid = ${row.uuid}`
    }
  }),
  // Layer directories being renamed into place, recorded (committed) before the rename: what
  // start-up recovery may remove when the recording transaction never committed (ImageRecords.stageLayers).
  "0005_staged_layers": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE staged_layers (id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID`
  })
})

const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Another server process may hold the write lock for a moment; wait rather than fail.
  yield* sql`PRAGMA busy_timeout = 10000`
  // With WAL this still survives a crash of the server intact; only a power cut may lose the last commits.
  yield* sql`PRAGMA synchronous = NORMAL`
  yield* Migrator.make({})({ loader: migrations, table: "engine_migrations" })
})

/** The SQLite database at `filename`, migrated. */
export const LocalDatabase = (filename: string): Layer.Layer<SqlClient.SqlClient, LocalEngineError> =>
  Layer.effectDiscard(migrate).pipe(
    // 0600 before SQLite opens it: its -wal and -shm files take the database's mode.
    Layer.provideMerge(Layer.unwrapEffect(Effect.sync(() => {
      if (filename !== ":memory:") privateDatabase(filename)
      return SqliteClient.layer({ filename })
    }))),
    Layer.catchAllCause((cause) => Layer.fail(internal(`cannot open the engine database ${filename}`)(Cause.squash(cause))))
  )

/** A failed read or write of the engine's records, as the engine reports it. */
export const databaseFailed = internal("the engine database failed")
