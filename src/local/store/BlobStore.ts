// Uploaded files: content-addressed bytes under `blobs/`, one row per file.
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { createReadStream } from "node:fs"
import { mkdir, open, rename, rm } from "node:fs/promises"
import { dirname, join } from "node:path"
import type { UploadBody } from "../../services/ContreeClient.js"
import { EngineHost } from "../host/EngineHost.js"
import { internal, type LocalEngineError } from "../LocalEngineError.js"
import { blobPath, type StatePaths } from "./StatePaths.js"

/** Bytes to store: what a client uploads (`UploadBody`), or a request body `contree-mcp serve` streams through. */
export type EngineUpload = UploadBody | { readonly _tag: "Stream"; readonly stream: Stream.Stream<Uint8Array, LocalEngineError> }

const StoredFile = Schema.Struct({ uuid: Schema.String, sha256: Schema.String, size: Schema.Number })
export type StoredFile = typeof StoredFile.Type

const decodeFiles = Schema.decodeUnknown(Schema.Array(StoredFile))

const CHUNK = 1024 * 1024
/** Uuids per lookup: far below SQLite's 32,766 parameters. */
const LOOKUP_CHUNK = 500


/**
 * Uploaded files: bytes under `blobs/` named by their sha256, a row per file in `files`.
 * The same content uploaded twice is one file with one uuid, as the cloud deduplicates. Uploads
 * may hold secrets: files 0600 in directories 0700.
 */
export const makeBlobStore = (sql: SqlClient.SqlClient, paths: StatePaths) => {
  const fail = internal("cannot store the upload")

  const byHash = (sha256: string): Effect.Effect<Option.Option<StoredFile>, LocalEngineError> =>
    sql`SELECT uuid, sha256, size FROM files WHERE sha256 = ${sha256.toLowerCase()}`.pipe(
      Effect.flatMap(decodeFiles),
      Effect.map((rows) => Option.fromNullable(rows[0])),
      Effect.mapError(internal("cannot read the file records"))
    )

  const byUuid = (uuid: string): Effect.Effect<Option.Option<StoredFile>, LocalEngineError> =>
    sql`SELECT uuid, sha256, size FROM files WHERE uuid = ${uuid}`.pipe(
      Effect.flatMap(decodeFiles),
      Effect.map((rows) => Option.fromNullable(rows[0])),
      Effect.mapError(internal("cannot read the file records"))
    )

  const byUuids = (uuids: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, StoredFile>, LocalEngineError> =>
    Effect.forEach(
      Array.from({ length: Math.ceil(uuids.length / LOOKUP_CHUNK) }, (_, i) => uuids.slice(i * LOOKUP_CHUNK, (i + 1) * LOOKUP_CHUNK)),
      (chunk) => sql`SELECT uuid, sha256, size FROM files WHERE ${sql.in("uuid", chunk)}`.pipe(Effect.flatMap(decodeFiles))
    ).pipe(
      Effect.map((rows) => new Map(rows.flat().map((row) => [row.uuid, row]))),
      Effect.mapError(internal("cannot read the file records"))
    )

  const chunks = (body: EngineUpload): Stream.Stream<Uint8Array, LocalEngineError> =>
    body._tag === "Bytes"
      ? Stream.make(body.bytes)
      : body._tag === "File"
      ? Stream.fromAsyncIterable(createReadStream(body.path, { highWaterMark: CHUNK }), fail).pipe(Stream.map((chunk) => chunk as Uint8Array))
      : body.stream

  /** Copies the body into a staging file while hashing it, so a large file is never held in memory; nothing is left on failure. */
  const stage = (body: EngineUpload) =>
    Effect.gen(function*() {
      const temp = join(paths.tmp, `${process.pid}-upload-${randomBytes(8).toString("hex")}`)
      const hash = createHash("sha256")
      const io = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: fail })
      const size = yield* Effect.acquireUseRelease(
        io(() => mkdir(paths.tmp, { recursive: true }).then(() => open(temp, "wx", 0o600))),
        (handle) =>
          Stream.runFoldEffect(chunks(body), 0, (written, chunk) => {
            hash.update(chunk)
            return io(() => handle.write(chunk)).pipe(Effect.as(written + chunk.length))
          }).pipe(Effect.tap(() => io(() => handle.sync()))),
        (handle, exit) =>
          Effect.promise(async () => {
            await handle.close().catch(() => undefined)
            if (exit._tag === "Failure") await rm(temp, { force: true })
          })
      )
      return { temp, sha256: hash.digest("hex"), size }
    })

  const upload = (body: EngineUpload): Effect.Effect<StoredFile, LocalEngineError> =>
    Effect.gen(function*() {
      const staged = yield* stage(body)
      const existing = yield* byHash(staged.sha256)
      if (Option.isSome(existing)) {
        yield* Effect.promise(() => rm(staged.temp, { force: true }))
        return existing.value
      }
      const target = blobPath(paths, staged.sha256)
      // Content-addressed, so a concurrent upload of the same bytes renames identical content.
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(dirname(target), { recursive: true, mode: 0o700 })
          await rename(staged.temp, target)
        },
        catch: fail
      })
      const file = { uuid: randomUUID(), sha256: staged.sha256, size: staged.size }
      const now = yield* Clock.currentTimeMillis
      yield* sql`INSERT INTO files (uuid, sha256, size, created_at) VALUES (${file.uuid}, ${file.sha256}, ${file.size}, ${now})
        ON CONFLICT(sha256) DO NOTHING`.pipe(Effect.mapError(fail))
      // Another process may have recorded the same content first: its uuid wins.
      return Option.getOrElse(yield* byHash(file.sha256), () => file)
    })

  return BlobStore.of({ upload, byHash, byUuid, byUuids, path: (file: StoredFile) => blobPath(paths, file.sha256) })
}

export class BlobStore extends Context.Tag("contree/local/BlobStore")<BlobStore, {
  /** Stores the bytes, or finds the file already holding them. */
  readonly upload: (body: EngineUpload) => Effect.Effect<StoredFile, LocalEngineError>
  readonly byHash: (sha256: string) => Effect.Effect<Option.Option<StoredFile>, LocalEngineError>
  readonly byUuid: (uuid: string) => Effect.Effect<Option.Option<StoredFile>, LocalEngineError>
  /** The stored files among `uuids`, by uuid; unknown ones are left out. */
  readonly byUuids: (uuids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, StoredFile>, LocalEngineError>
  /** Where the file's bytes are on the host. */
  readonly path: (file: StoredFile) => string
}>() {
  static readonly layer: Layer.Layer<BlobStore, never, SqlClient.SqlClient | EngineHost> = Layer.effect(
    BlobStore,
    Effect.gen(function*() {
      return makeBlobStore(yield* SqlClient.SqlClient, (yield* EngineHost).paths)
    })
  )
}
