import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, type ParseResult, Schema } from "effect"
import { selfIdentity } from "../host/HostProcess.js"
import type { Window } from "./QueryRules.js"

/** What an image's config asks of a run that does not say otherwise (OCI `config`: Env, WorkingDir, User, Entrypoint, Cmd). */
export interface ImageDefaults {
  /** `NAME=value`, as the config lists them. */
  readonly env: ReadonlyArray<string>
  readonly workingDir: string | null
  /** `user[:group]`, names or ids, as the config has it. */
  readonly user: string | null
  readonly entrypoint: ReadonlyArray<string> | null
  readonly cmd: ReadonlyArray<string> | null
}

/** An image: an immutable stack of layers, lowest first. */
export interface ImageRow {
  readonly uuid: string
  readonly layers: ReadonlyArray<string>
  readonly parent: string | null
  readonly tag: string | null
  /** Where it came from: `run` for a committed run, `busybox-static …` for a base image. */
  readonly source: string
  readonly operation: string | null
  readonly createdAt: number
  /** The manifest digest an imported image came from. */
  readonly manifest: string | null
  /** From the imported config; images committed on it inherit it. */
  readonly defaults: ImageDefaults | null
}

/** A committed layer and the directories it made opaque (relative paths, no leading `/`). */
export interface LayerRow {
  readonly id: string
  readonly opaque: ReadonlyArray<string>
}

const Strings = Schema.Array(Schema.String)

/** The `config` column: images recorded before Entrypoint was kept have none. */
const StoredDefaults = Schema.parseJson(Schema.Struct({
  env: Strings,
  workingDir: Schema.NullOr(Schema.String),
  user: Schema.NullOr(Schema.String),
  entrypoint: Schema.optionalWith(Schema.NullOr(Strings), { default: () => null }),
  cmd: Schema.NullOr(Strings)
}))

/** A row of `images` as stored: JSON columns decoded, snake case mapped. */
const ImageRowFromStored = Schema.Struct({
  uuid: Schema.String,
  layers: Schema.parseJson(Strings),
  parent: Schema.NullOr(Schema.String),
  tag: Schema.NullOr(Schema.String),
  source: Schema.String,
  operation: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  manifest: Schema.NullOr(Schema.String),
  config: Schema.NullOr(StoredDefaults)
}).pipe(Schema.rename({ created_at: "createdAt", config: "defaults" }))

const LayerFromStored = Schema.Struct({ id: Schema.String, opaque: Schema.parseJson(Strings) })

const decodeImages = Schema.decodeUnknown(Schema.Array(ImageRowFromStored))
const decodeLayers = Schema.decodeUnknown(Schema.Array(LayerFromStored))
const decodeLayerColumn = Schema.decodeUnknown(Schema.Array(Schema.Struct({ layer: Schema.String })))
const decodeLayerIds = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String })))
const decodeStaged = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String, owner: Schema.String })))

/** What reading a record can fail with: the database, or a row that is not what the engine wrote. */
export type RecordError = SqlError | ParseResult.ParseError

export interface ImageFilter {
  readonly window: Window
  readonly tagged?: boolean | undefined
  readonly tagPrefix?: string | undefined
}

export type ImageRecords = ReturnType<typeof makeImageRecords>

export const makeImageRecords = (sql: SqlClient.SqlClient) => {
  const images = (rows: ReadonlyArray<unknown>) => decodeImages(rows)
  const first = (rows: ReadonlyArray<unknown>) => Effect.map(decodeImages(rows.slice(0, 1)), (decoded) => Option.fromNullable(decoded[0]))

  const get = (uuid: string): Effect.Effect<Option.Option<ImageRow>, RecordError> =>
    sql`SELECT * FROM images WHERE uuid = ${uuid}`.pipe(Effect.flatMap(first))

  const byManifest = (digest: string): Effect.Effect<Option.Option<ImageRow>, RecordError> =>
    sql`SELECT * FROM images WHERE manifest = ${digest}`.pipe(Effect.flatMap(first))

  const byTag = (tag: string): Effect.Effect<Option.Option<ImageRow>, RecordError> =>
    sql`SELECT * FROM images WHERE tag = ${tag}`.pipe(Effect.flatMap(first))

  /** Newest first, as the cloud lists them. */
  const list = (filter: ImageFilter): Effect.Effect<ReadonlyArray<ImageRow>, RecordError> => {
    const { window } = filter
    const conditions = [
      ...(Number.isFinite(window.since) ? [sql`created_at >= ${window.since}`] : []),
      ...(Number.isFinite(window.until) ? [sql`created_at <= ${window.until}`] : []),
      ...(filter.tagged === undefined ? [] : [filter.tagged ? sql`tag IS NOT NULL` : sql`tag IS NULL`]),
      // A prefix, not a pattern: substr() keeps `%` and `_` literal.
      ...(filter.tagPrefix ? [sql`substr(tag, 1, ${filter.tagPrefix.length}) = ${filter.tagPrefix}`] : [])
    ]
    return sql`SELECT * FROM images ${conditions.length > 0 ? sql`WHERE ${sql.and(conditions)}` : sql``}
      ORDER BY created_at DESC, rowid DESC LIMIT ${window.limit} OFFSET ${window.offset}`.pipe(Effect.flatMap(images))
  }

  /** Tags are unique: setting one moves it away from any other image. */
  const setTag = (uuid: string, tag: string): Effect.Effect<void, SqlError> =>
    sql.withTransaction(Effect.all([
      sql`UPDATE images SET tag = NULL WHERE tag = ${tag} AND uuid != ${uuid}`,
      sql`UPDATE images SET tag = ${tag} WHERE uuid = ${uuid}`
    ], { discard: true }))

  const clearTag = (uuid: string): Effect.Effect<void, SqlError> => sql`UPDATE images SET tag = NULL WHERE uuid = ${uuid}`.pipe(Effect.asVoid)

  const insertLayer = (layer: LayerRow, createdAt: number): Effect.Effect<void, SqlError> =>
    sql`INSERT INTO layers (id, opaque, created_at) VALUES (${layer.id}, ${JSON.stringify(layer.opaque)}, ${createdAt})`.pipe(Effect.asVoid)

  /** Records an image, and the new layer it adds when there is one. Run it inside the caller's transaction. */
  const insert = (image: ImageRow, layer: LayerRow | undefined): Effect.Effect<void, SqlError> =>
    Effect.gen(function*() {
      if (layer !== undefined) yield* insertLayer(layer, image.createdAt)
      if (image.tag !== null) yield* sql`UPDATE images SET tag = NULL WHERE tag = ${image.tag}`
      const config = image.defaults === null ? null : JSON.stringify(image.defaults)
      yield* sql`INSERT INTO images (uuid, layers, parent, tag, source, operation, created_at, manifest, config) VALUES (
        ${image.uuid}, ${JSON.stringify(image.layers)}, ${image.parent}, ${image.tag}, ${image.source}, ${image.operation}, ${image.createdAt},
        ${image.manifest}, ${config})`
    })

  /** The layer unpacked from a compressed blob, if one was. */
  const layerOfBlob = (digest: string): Effect.Effect<Option.Option<string>, RecordError> =>
    sql`SELECT layer FROM layer_blobs WHERE digest = ${digest}`.pipe(
      Effect.flatMap(decodeLayerColumn),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.layer))
    )

  const recordBlob = (digest: string, layer: string): Effect.Effect<void, SqlError> =>
    sql`INSERT INTO layer_blobs (digest, layer) VALUES (${digest}, ${layer})`.pipe(Effect.asVoid)

  const filesLayers = (key: string): Effect.Effect<ReadonlyArray<string>, RecordError> =>
    sql`SELECT layer FROM files_layers WHERE key = ${key}`.pipe(
      Effect.flatMap(decodeLayerColumn),
      Effect.map((rows) => rows.map((row) => row.layer))
    )

  const recordFilesLayer = (key: string, layer: string, usedAt: number): Effect.Effect<void, SqlError> =>
    sql`INSERT INTO files_layers (key, layer, used_at) VALUES (${key}, ${layer}, ${usedAt})`.pipe(Effect.asVoid)

  /** Which of `layers` are files layers. */
  const filesLayersAmong = (layers: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, RecordError> =>
    layers.length === 0 ? Effect.succeed([]) : sql`SELECT DISTINCT layer FROM files_layers WHERE ${sql.in("layer", layers)}`.pipe(
      Effect.flatMap(decodeLayerColumn),
      Effect.map((rows) => rows.map((row) => row.layer))
    )

  const touchFilesLayer = (layer: string, usedAt: number): Effect.Effect<void, SqlError> =>
    sql`UPDATE files_layers SET used_at = ${usedAt} WHERE layer = ${layer}`.pipe(Effect.asVoid)

  /** Files layers last used before `before` that no image holds. */
  const staleFilesLayers = (before: number): Effect.Effect<ReadonlyArray<string>, RecordError> =>
    sql`SELECT layer FROM files_layers f WHERE used_at < ${before}
      AND NOT EXISTS (SELECT 1 FROM images WHERE instr(images.layers, '"' || f.layer || '"') > 0)`.pipe(
      Effect.flatMap(decodeLayerColumn),
      Effect.map((rows) => rows.map((row) => row.layer))
    )

  /** Forgets layers no image holds; run it inside the transaction that moves their directories away. */
  const deleteFilesLayers = (layers: ReadonlyArray<string>): Effect.Effect<void, SqlError> =>
    layers.length === 0 ? Effect.void : Effect.all([
      sql`DELETE FROM files_layers WHERE ${sql.in("layer", layers)}`,
      sql`DELETE FROM layers WHERE ${sql.in("id", layers)}`
    ], { discard: true })

  const layer = (id: string): Effect.Effect<Option.Option<LayerRow>, RecordError> =>
    sql`SELECT id, opaque FROM layers WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeLayers),
      Effect.map((rows) => Option.fromNullable(rows[0]))
    )

  const layerIds: Effect.Effect<ReadonlySet<string>, RecordError> = sql`SELECT id FROM layers`.pipe(
    Effect.flatMap(decodeLayerIds),
    Effect.map((rows) => new Set(rows.map((r) => r.id)))
  )

  /**
   * Records that this process is about to rename layer directories `ids` into `layers/`, committed
   * at once: call it outside the transaction that records them, which calls `unstageLayers`. A
   * staged layer whose process is gone and that no transaction recorded is what start-up recovery
   * removes (a crash between the rename and the commit); it removes nothing else.
   */
  const stageLayers = (ids: ReadonlyArray<string>, createdAt: number): Effect.Effect<void, SqlError> =>
    ids.length === 0 ? Effect.void : Effect.asVoid(sql`INSERT INTO staged_layers ${sql.insert(ids.map((id) => ({ id, owner: selfIdentity(), created_at: createdAt })))}`)

  /** Inside the transaction that records the layers (or gives them up). */
  const unstageLayers = (ids: ReadonlyArray<string>): Effect.Effect<void, SqlError> =>
    ids.length === 0 ? Effect.void : Effect.asVoid(sql`DELETE FROM staged_layers WHERE ${sql.in("id", ids)}`)

  const stagedLayers: Effect.Effect<ReadonlyArray<{ readonly id: string; readonly owner: string }>, RecordError> =
    sql`SELECT id, owner FROM staged_layers`.pipe(Effect.flatMap(decodeStaged))

  const hasImages: Effect.Effect<boolean, SqlError> = Effect.map(sql`SELECT 1 FROM images LIMIT 1`, (rows) => rows.length > 0)

  return { get, byTag, byManifest, list, setTag, clearTag, insert, insertLayer, layer, layerIds, layerOfBlob, recordBlob, filesLayers, filesLayersAmong, recordFilesLayer, touchFilesLayer,
    staleFilesLayers, deleteFilesLayers, stageLayers, unstageLayers, stagedLayers, hasImages }
}
