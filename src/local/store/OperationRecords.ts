import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { RecentMap } from "../../domain/RecentMap.js"
import { Operation, type OperationKind, OperationStatus, OperationSummary } from "../../domain/Operation.js"
import type { RecordError } from "./ImageRecords.js"
import type { Window } from "./QueryRules.js"

export interface OperationRow {
  readonly uuid: string
  readonly kind: OperationKind
  readonly status: OperationStatus
  readonly error: string | null
  /** The input image, resolved to a uuid. */
  readonly image: string | null
  readonly resultImage: string | null
  /**
   * The echoed request as JSON (`metadata` on the wire), with `result` once the process ended.
   * Rows of `list` and `active` carry it without its `files` (see `makeOperationRecords`).
   */
  readonly metadata: Record<string, unknown>
  /** `pid:starttime:engine` of the server process (and engine in it) that runs it. */
  readonly owner: string
  /** `pid:starttime` of its sandbox's setup process while it runs: what a cancel from elsewhere kills. */
  readonly sandbox: string | null
  readonly createdAt: number
  readonly finishedAt: number | null
}

const Kind = Schema.Literal("instance", "image_import")

/** A row of `operations` as stored: `metadata` is JSON, names are snake case. */
const OperationRowFromStored = Schema.Struct({
  uuid: Schema.String,
  kind: Kind,
  status: OperationStatus,
  error: Schema.NullOr(Schema.String),
  image: Schema.NullOr(Schema.String),
  result_image: Schema.NullOr(Schema.String),
  metadata: Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  owner: Schema.String,
  sandbox: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  finished_at: Schema.NullOr(Schema.Number),
  files_key: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
}).pipe(Schema.rename({ result_image: "resultImage", created_at: "createdAt", finished_at: "finishedAt", files_key: "filesKey" }))

const decodeRows = Schema.decodeUnknown(Schema.Array(OperationRowFromStored))

const ACTIVE = ["PENDING", "ASSIGNED", "EXECUTING"] as const

/** Parsed `files` echoes kept in memory: the runs of one synced project share one. */
const REMEMBERED_FILE_SETS = 16

const iso = (epochMs: number) => new Date(epochMs).toISOString()
/** Seconds from creation to the end, or to `now` while it runs. */
const durationSeconds = (row: OperationRow, now: number) => ((row.finishedAt ?? now) - row.createdAt) / 1000

/** `GET /operations/{uuid}` as the cloud answers it (spec §2.11), at `now` (epoch ms). */
export const toOperation = (row: OperationRow, now: number): Operation =>
  Schema.decodeUnknownSync(Operation)({
    uuid: row.uuid,
    status: row.status,
    kind: row.kind,
    error: row.error,
    created_at: iso(row.createdAt),
    duration: durationSeconds(row, now),
    metadata: row.metadata,
    // An import's result names the tag it assigned (spec §3.2).
    result: row.status === "SUCCESS" ? { image: row.resultImage, tag: row.kind === "image_import" ? row.metadata["tag"] ?? null : null } : null,
    result_image_uuid: row.resultImage
  })

/** An item of `GET /operations` (spec §2.10), at `now` (epoch ms). */
export const toSummary = (row: OperationRow, now: number): OperationSummary =>
  Schema.decodeUnknownSync(OperationSummary)({
    uuid: row.uuid,
    kind: row.kind,
    status: row.status,
    error: row.error,
    created_at: iso(row.createdAt),
    duration: durationSeconds(row, now),
    image_uuid: row.image,
    result_image_uuid: row.resultImage
  })

export interface OperationFilter {
  readonly window: Window
  readonly status?: OperationStatus | undefined
  readonly kind?: OperationKind | undefined
}

export interface Outcome {
  readonly status: "SUCCESS" | "FAILED"
  readonly error: string | null
  readonly metadata: Record<string, unknown>
  readonly resultImage: string | null
}

export type OperationRecords = ReturnType<typeof makeOperationRecords>

/**
 * The echoed `files` of a run live apart from its row, in `operation_files` by the digest of their
 * JSON: a run given a synced project echoes thousands of them (half a megabyte), which every
 * update of the row (executing, sandbox, finished) would otherwise rewrite, and every run of the
 * same project stores them once. `get` puts them back.
 */
export const makeOperationRecords = (sql: SqlClient.SqlClient) => {
  const changed = (rows: ReadonlyArray<unknown>) => rows.length > 0
  const fileSets = new RecentMap<string, unknown>(REMEMBERED_FILE_SETS)
  const keyOf = new WeakMap<object, string>()

  /** The metadata without its `files`, and their key once they are stored. */
  const storeFiles = (metadata: Record<string, unknown>): Effect.Effect<readonly [Record<string, unknown>, string | null], SqlError> => {
    const { files, ...rest } = metadata
    if (typeof files !== "object" || files === null || Object.keys(files).length === 0) return Effect.succeed([metadata, null])
    const known = keyOf.get(files)
    if (known !== undefined) return Effect.succeed([rest, known])
    const json = JSON.stringify(files)
    const key = createHash("sha256").update(json).digest("hex")
    keyOf.set(files, key)
    fileSets.set(key, files)
    return sql`INSERT INTO operation_files (key, files) VALUES (${key}, ${json}) ON CONFLICT(key) DO NOTHING`.pipe(Effect.as([rest, key] as const))
  }

  const filesOf = (key: string): Effect.Effect<unknown, RecordError> =>
    fileSets.has(key)
      ? Effect.succeed(fileSets.get(key))
      : sql`SELECT files FROM operation_files WHERE key = ${key}`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ files: Schema.parseJson() })))),
        Effect.map((rows) => rows[0]?.files ?? {}),
        Effect.tap((files) => fileSets.set(key, files))
      )

  const insert = (row: OperationRow): Effect.Effect<void, SqlError> =>
    Effect.flatMap(storeFiles(row.metadata), ([metadata, filesKey]) =>
      sql`INSERT INTO operations (uuid, kind, status, error, image, result_image, metadata, owner, sandbox, created_at, finished_at, files_key)
      VALUES (${row.uuid}, ${row.kind}, ${row.status}, ${row.error}, ${row.image}, ${row.resultImage}, ${JSON.stringify(metadata)},
      ${row.owner}, ${row.sandbox}, ${row.createdAt}, ${row.finishedAt}, ${filesKey})`).pipe(Effect.asVoid)

  const get = (uuid: string): Effect.Effect<Option.Option<OperationRow>, RecordError> =>
    sql`SELECT * FROM operations WHERE uuid = ${uuid}`.pipe(
      Effect.flatMap(decodeRows),
      Effect.flatMap((rows) => {
        const row = rows[0]
        if (row === undefined) return Effect.succeed(Option.none())
        if (row.filesKey === null) return Effect.succeed(Option.some(row))
        return Effect.map(filesOf(row.filesKey), (files) => Option.some({ ...row, metadata: { ...row.metadata, files } }))
      })
    )

  /** Newest first. */
  const list = (filter: OperationFilter): Effect.Effect<ReadonlyArray<OperationRow>, RecordError> => {
    const { window } = filter
    const conditions = [
      ...(Number.isFinite(window.since) ? [sql`created_at >= ${window.since}`] : []),
      ...(Number.isFinite(window.until) ? [sql`created_at <= ${window.until}`] : []),
      ...(filter.status === undefined ? [] : [sql`status = ${filter.status}`]),
      ...(filter.kind === undefined ? [] : [sql`kind = ${filter.kind}`])
    ]
    return sql`SELECT * FROM operations ${conditions.length > 0 ? sql`WHERE ${sql.and(conditions)}` : sql``}
      ORDER BY created_at DESC, rowid DESC LIMIT ${window.limit} OFFSET ${window.offset}`.pipe(Effect.flatMap(decodeRows))
  }

  /** How many operations there are in each status (`operations_stat` of whoami). */
  const countsByStatus: Effect.Effect<Record<string, number>, RecordError> =
    sql`SELECT status, COUNT(*) AS count FROM operations GROUP BY status`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ status: Schema.String, count: Schema.Number })))),
      Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.status, row.count])))
    )

  const active: Effect.Effect<ReadonlyArray<OperationRow>, RecordError> = sql`SELECT * FROM operations WHERE status IN ${sql.in(ACTIVE)}`.pipe(
    Effect.flatMap(decodeRows)
  )

  /** PENDING → EXECUTING; false when it is no longer pending (cancelled meanwhile). */
  const start = (uuid: string): Effect.Effect<boolean, SqlError> =>
    sql`UPDATE operations SET status = 'EXECUTING' WHERE uuid = ${uuid} AND status = 'PENDING' RETURNING uuid`.pipe(Effect.map(changed))

  const setSandbox = (uuid: string, sandbox: string | null): Effect.Effect<void, SqlError> =>
    sql`UPDATE operations SET sandbox = ${sandbox} WHERE uuid = ${uuid}`.pipe(Effect.asVoid)

  /** EXECUTING → SUCCESS or FAILED; false when it was cancelled meanwhile, so the outcome must be discarded. */
  const finish = (uuid: string, outcome: Outcome): Effect.Effect<boolean, SqlError> =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // The files are as the run was created with them: stored already, their key unchanged.
      const [metadata] = yield* storeFiles(outcome.metadata)
      return changed(yield* sql`UPDATE operations SET status = ${outcome.status}, error = ${outcome.error}, metadata = ${JSON.stringify(metadata)},
        result_image = ${outcome.resultImage}, sandbox = NULL, finished_at = ${now}
        WHERE uuid = ${uuid} AND status = 'EXECUTING' RETURNING uuid`)
    })

  /** Any active status → CANCELLED; false when it had already ended. */
  const cancel = (uuid: string): Effect.Effect<boolean, SqlError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => sql`UPDATE operations SET status = 'CANCELLED', finished_at = ${now}
      WHERE uuid = ${uuid} AND status IN ${sql.in(ACTIVE)} RETURNING uuid`).pipe(Effect.map(changed))

  /** Any active status → FAILED with `error`: for operations whose server process is gone. */
  const abandon = (uuid: string, error: string): Effect.Effect<boolean, SqlError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => sql`UPDATE operations SET status = 'FAILED', error = ${error}, sandbox = NULL, finished_at = ${now}
      WHERE uuid = ${uuid} AND status IN ${sql.in(ACTIVE)} RETURNING uuid`).pipe(Effect.map(changed))

  return { insert, get, list, countsByStatus, active, start, setSandbox, finish, cancel, abandon }
}
