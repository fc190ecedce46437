import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option } from "effect"
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

interface RawImage {
  readonly uuid: string
  readonly layers: string
  readonly parent: string | null
  readonly tag: string | null
  readonly source: string
  readonly operation: string | null
  readonly created_at: number
  readonly manifest: string | null
  readonly config: string | null
}

const toImage = (raw: RawImage): ImageRow => ({
  uuid: raw.uuid,
  layers: JSON.parse(raw.layers) as ReadonlyArray<string>,
  parent: raw.parent,
  tag: raw.tag,
  source: raw.source,
  operation: raw.operation,
  createdAt: raw.created_at,
  manifest: raw.manifest,
  // Images recorded before Entrypoint was kept have none.
  defaults: raw.config === null ? null : { entrypoint: null, ...JSON.parse(raw.config) as Partial<ImageDefaults> } as ImageDefaults
})

export interface ImageFilter {
  readonly window: Window
  readonly tagged?: boolean | undefined
  readonly tagPrefix?: string | undefined
}

export type ImageRecords = ReturnType<typeof makeImageRecords>

export const makeImageRecords = (sql: SqlClient.SqlClient) => {
  const first = (rows: ReadonlyArray<RawImage>) => Option.map(Option.fromNullable(rows[0]), toImage)

  const get = (uuid: string): Effect.Effect<Option.Option<ImageRow>, SqlError> =>
    sql<RawImage>`SELECT * FROM images WHERE uuid = ${uuid}`.pipe(Effect.map(first))

  const byManifest = (digest: string): Effect.Effect<Option.Option<ImageRow>, SqlError> =>
    sql<RawImage>`SELECT * FROM images WHERE manifest = ${digest}`.pipe(Effect.map(first))

  const byTag = (tag: string): Effect.Effect<Option.Option<ImageRow>, SqlError> =>
    sql<RawImage>`SELECT * FROM images WHERE tag = ${tag}`.pipe(Effect.map(first))

  /** Newest first, as the cloud lists them. */
  const list = (filter: ImageFilter): Effect.Effect<ReadonlyArray<ImageRow>, SqlError> => {
    const { window } = filter
    const conditions = [
      ...(Number.isFinite(window.since) ? [sql`created_at >= ${window.since}`] : []),
      ...(Number.isFinite(window.until) ? [sql`created_at <= ${window.until}`] : []),
      ...(filter.tagged === undefined ? [] : [filter.tagged ? sql`tag IS NOT NULL` : sql`tag IS NULL`]),
      // A prefix, not a pattern: substr() keeps `%` and `_` literal.
      ...(filter.tagPrefix ? [sql`substr(tag, 1, ${filter.tagPrefix.length}) = ${filter.tagPrefix}`] : [])
    ]
    return sql<RawImage>`SELECT * FROM images ${conditions.length > 0 ? sql`WHERE ${sql.and(conditions)}` : sql``}
      ORDER BY created_at DESC, rowid DESC LIMIT ${window.limit} OFFSET ${window.offset}`.pipe(
      Effect.map((rows) => rows.map(toImage))
    )
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
  const layerOfBlob = (digest: string): Effect.Effect<Option.Option<string>, SqlError> =>
    sql<{ readonly layer: string }>`SELECT layer FROM layer_blobs WHERE digest = ${digest}`.pipe(
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.layer))
    )

  const recordBlob = (digest: string, layer: string): Effect.Effect<void, SqlError> =>
    sql`INSERT INTO layer_blobs (digest, layer) VALUES (${digest}, ${layer})`.pipe(Effect.asVoid)

  const layer = (id: string): Effect.Effect<Option.Option<LayerRow>, SqlError> =>
    sql<{ readonly id: string; readonly opaque: string }>`SELECT id, opaque FROM layers WHERE id = ${id}`.pipe(
      Effect.map((rows) =>
        Option.map(Option.fromNullable(rows[0]), (row) => ({ id: row.id, opaque: JSON.parse(row.opaque) as ReadonlyArray<string> }))
      )
    )

  const layerIds = sql<{ readonly id: string }>`SELECT id FROM layers`.pipe(Effect.map((rows) => new Set(rows.map((r) => r.id))))

  return { get, byTag, byManifest, list, setTag, clearTag, insert, insertLayer, layer, layerIds, layerOfBlob, recordBlob }
}
