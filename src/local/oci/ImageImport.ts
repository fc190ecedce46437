import type { SqlClient } from "@effect/sql"
import { Chunk, Clock, Effect, Either, Option, ParseResult, Schema, type Scope, Stream } from "effect"
import { createHash, randomUUID } from "node:crypto"
import { mkdirSync, renameSync } from "node:fs"
import { join } from "node:path"
import { PassThrough } from "node:stream"
import type { IdMapping } from "../host/IdMapping.js"
import type { ImageDefaults, ImageRecords, ImageRow } from "../store/ImageRecords.js"
import { internal, invalidRequest, LocalEngineError } from "../LocalEngineError.js"
import type { OperationRecords } from "../store/OperationRecords.js"
import { removeTree } from "../host/removeTree.js"
import { layerDir, newLayerId, type StatePaths } from "../store/StatePaths.js"
import { isCheckableAlgorithm } from "./Digest.js"
import { type ImageSource, type ImportProgress, resolveProgress } from "./ImageSource.js"
import { unpackLayer, type UnpackBudget, UnsafeLayerEntry } from "./LayerUnpack.js"
import { type Descriptor, ImageConfig } from "./Manifest.js"

export type { ImportProgress } from "./ImageSource.js"

export interface ImportContext {
  readonly paths: StatePaths
  readonly ids: IdMapping
  readonly sql: SqlClient.SqlClient
  readonly images: ImageRecords
  readonly operations: OperationRecords
  /** Tells waiters the operation's outcome is recorded. */
  readonly settled: (id: string) => Effect.Effect<void>
  /** The unpacked bytes an import starting now may write; none: no cap. */
  readonly budget: () => UnpackBudget | undefined
}

export interface ImportJob {
  /** The operation. */
  readonly id: string
  readonly source: ImageSource
  readonly tag: string | null
  /** The echoed request (spec §2.11 ImportImageMetadata). */
  readonly metadata: Record<string, unknown>
  /**
   * Updated in place as bytes arrive, those the source reads to resolve (see `resolveProgress`)
   * and those of the layers fetched; the engine reads it for progress notifications.
   */
  readonly progress: ImportProgress
}

const MAX_CONFIG = 8 * 1024 * 1024

class BlobMismatch extends Error {}

/** Checks bytes against a descriptor as they pass: never more than its size, and its digest at the end. */
const blobCheck = (descriptor: Descriptor) => {
  const [algorithm, expected] = descriptor.digest.split(":")
  if (algorithm === undefined || expected === undefined || !isCheckableAlgorithm(algorithm)) {
    throw new BlobMismatch(`unsupported digest '${descriptor.digest}'`)
  }
  const hash = createHash(algorithm)
  let size = 0
  return {
    update: (chunk: Uint8Array) => {
      size += chunk.length
      if (size > descriptor.size) throw new BlobMismatch(`blob ${descriptor.digest} is larger than the ${descriptor.size} bytes it was announced with`)
      hash.update(chunk)
    },
    complete: () => size === descriptor.size,
    verify: () => {
      if (size !== descriptor.size) throw new BlobMismatch(`blob ${descriptor.digest} has ${size} bytes, not the ${descriptor.size} announced`)
      const actual = hash.digest("hex")
      if (actual !== expected) throw new BlobMismatch(`blob ${descriptor.digest} does not match its digest (its content hashes to ${algorithm}:${actual})`)
    }
  }
}

const importError = (what: string) => (cause: unknown): LocalEngineError =>
  cause instanceof LocalEngineError
    ? cause
    : cause instanceof BlobMismatch || cause instanceof UnsafeLayerEntry
    ? invalidRequest(`${what}: ${cause.message}`)
    : internal(what)(cause)

/**
 * A promise-returning job that stops when the effect is interrupted, and is waited for: nothing
 * may still write into a staging directory the scope is about to remove.
 */
const abortable = <A>(run: (signal: AbortSignal) => Promise<A>, onError: (cause: unknown) => LocalEngineError) =>
  Effect.async<A, LocalEngineError>((resume) => {
    const controller = new AbortController()
    const running = run(controller.signal)
    running.then((value) => resume(Effect.succeed(value)), (cause: unknown) => resume(Effect.fail(onError(cause))))
    return Effect.promise(() => {
      controller.abort()
      return running.then(() => undefined, () => undefined)
    })
  })

const fetchConfig = (source: ImageSource, descriptor: Descriptor) =>
  Effect.gen(function*() {
    if (descriptor.size > MAX_CONFIG) return yield* invalidRequest(`the image config is ${descriptor.size} bytes, more than a config can be`)
    const check = yield* Effect.try({ try: () => blobCheck(descriptor), catch: importError("the image config") })
    const chunks = yield* Stream.runCollect(source.blob(descriptor).pipe(
      Stream.mapEffect((chunk) => Effect.try({ try: () => (check.update(chunk), chunk), catch: importError("the image config") }))
    ))
    yield* Effect.try({ try: check.verify, catch: importError("the image config") })
    const text = Buffer.concat(Chunk.toArray(chunks)).toString("utf8")
    const config = Schema.decodeUnknownEither(Schema.parseJson(ImageConfig))(text)
    if (Either.isLeft(config)) {
      return yield* invalidRequest(`the image config is not valid: ${ParseResult.TreeFormatter.formatErrorSync(config.left)}`)
    }
    return config.right
  })

const defaultsOf = (config: ImageConfig): ImageDefaults => ({
  env: config.config?.Env ?? [],
  workingDir: config.config?.WorkingDir || null,
  user: config.config?.User || null,
  entrypoint: config.config?.Entrypoint ?? null,
  cmd: config.config?.Cmd ?? null
})

/** Writes a chunk, waiting while the reader is behind. */
const write = (body: PassThrough, chunk: Uint8Array) =>
  Effect.async<void>((resume) => {
    if (body.write(chunk)) return resume(Effect.void)
    const drained = () => resume(Effect.void)
    body.once("drain", drained)
    return Effect.sync(() => body.off("drain", drained))
  })

/**
 * Streams a layer blob through its digest check into `dir`, unpacked. The blob is fed from this
 * fiber, so interrupting the import stops the download as well as the unpacking.
 */
const fetchLayer = (ctx: ImportContext, job: ImportJob, descriptor: Descriptor, dir: string, budget: UnpackBudget | undefined) =>
  Effect.gen(function*() {
    const what = `layer ${descriptor.digest}`
    const check = yield* Effect.try({ try: () => blobCheck(descriptor), catch: importError(what) })
    const body = new PassThrough({ highWaterMark: 1024 * 1024 })
    const feed = job.source.blob(descriptor).pipe(
      Stream.runForEach((chunk) =>
        Effect.try({ try: () => check.update(chunk), catch: importError(what) }).pipe(
          Effect.zipRight(write(body, chunk)),
          Effect.zipRight(Effect.sync(() => (job.progress.done += chunk.length)))
        )
      ),
      Effect.tap(() => Effect.sync(() => body.end())),
      Effect.tapError((error) => Effect.sync(() => body.destroy(error)))
    )
    const unpack = abortable((signal) => unpackLayer(body, dir, ctx.ids, signal, true, budget), (cause) => {
      // A corrupt blob usually trips the decompressor before its end: when all of it came, say what was wrong with it.
      const mismatch = Either.try(() => check.verify())
      return Either.isLeft(mismatch) && mismatch.left instanceof BlobMismatch && check.complete() ? importError(what)(mismatch.left) : importError(what)(cause)
    })
    const [, unpacked] = yield* Effect.all([feed, unpack], { concurrency: 2 })
    yield* Effect.try({ try: check.verify, catch: importError(what) })
    return unpacked
  })

/** A layer listed twice (empty layers often are) is stacked once, where it is highest: overlayfs takes a directory once. */
const topmostOnce = (layers: ReadonlyArray<string>) => layers.filter((id, i) => !layers.includes(id, i + 1))

/**
 * Imports an image into the store as an EXECUTING operation and records how it ended. Layers
 * already unpacked from the same blob (any earlier import) are reused without fetching it; the
 * others stream through their digest check straight into a staging directory under tmp/. The
 * layers, the image and the operation's SUCCESS are then recorded in one transaction that also
 * renames the staged layers into place, so a failure or a cancel leaves neither rows nor
 * directories. A manifest already imported gives back its image.
 */
export const executeImport = (ctx: ImportContext, job: ImportJob): Effect.Effect<void, LocalEngineError, Scope.Scope> =>
  Effect.gen(function*() {
    const db = internal("cannot record the import")
    const resolved = yield* Effect.locally(job.source.resolve, resolveProgress, job.progress)
    const already = yield* Effect.mapError(ctx.images.byManifest(resolved.manifestDigest), db)
    if (Option.isSome(already)) return yield* reuse(ctx, job, already.value)
    if (resolved.layers.length === 0) return yield* invalidRequest(`${job.source.name}: the image has no layers`)
    const defaults = defaultsOf(yield* fetchConfig(job.source, resolved.config))

    const known = new Map<string, string>()
    for (const layer of resolved.layers) {
      const id = yield* Effect.mapError(ctx.images.layerOfBlob(layer.digest), db)
      if (Option.isSome(id)) known.set(layer.digest, id.value)
    }
    const wanted = new Map(resolved.layers.filter((layer) => !known.has(layer.digest)).map((layer) => [layer.digest, layer]))
    job.progress.total = job.progress.done + [...wanted.values()].reduce((sum, layer) => sum + layer.size, 0)

    const staging = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const dir = join(ctx.paths.tmp, `${process.pid}-import-${job.id}`)
          mkdirSync(dir, { mode: 0o700 })
          return dir
        },
        catch: internal("cannot stage the import")
      }),
      removeTree
    )
    const staged = new Map<string, { readonly id: string; readonly opaque: ReadonlyArray<string> }>()
    // One budget for all the layers: the cap is on the image; a layer over it fails the import, and the staging dir goes.
    const budget = yield* Effect.try({ try: ctx.budget, catch: internal("cannot read the data directory's free space") })
    for (const layer of wanted.values()) {
      const id = newLayerId()
      const unpacked = yield* fetchLayer(ctx, job, layer, join(staging, id), budget)
      if (unpacked.skipped.length > 0) {
        yield* Effect.logDebug(`layer ${layer.digest}: skipped ${unpacked.skipped.length} device nodes and fifos`)
      }
      staged.set(layer.digest, { id, opaque: unpacked.opaque })
    }
    yield* record(ctx, job, staging, { manifest: resolved.manifestDigest, defaults, layers: resolved.layers, known, staged })
  })

/** The manifest was imported before: the operation gives its image back (tagged, when asked). */
const reuse = (ctx: ImportContext, job: ImportJob, image: ImageRow) =>
  ctx.sql.withTransaction(Effect.gen(function*() {
    // Nothing more to read than resolving did, whatever the source expected.
    job.progress.total = job.progress.done
    if (!(yield* ctx.operations.finish(job.id, { status: "SUCCESS", error: null, metadata: job.metadata, resultImage: image.uuid }))) return
    if (job.tag !== null) yield* ctx.images.setTag(image.uuid, job.tag)
  })).pipe(Effect.mapError(internal("cannot record the import")), Effect.zipRight(ctx.settled(job.id)))

interface Fetched {
  readonly manifest: string
  readonly defaults: ImageDefaults
  readonly layers: ReadonlyArray<Descriptor>
  readonly known: ReadonlyMap<string, string>
  readonly staged: ReadonlyMap<string, { readonly id: string; readonly opaque: ReadonlyArray<string> }>
}

const record = (ctx: ImportContext, job: ImportJob, staging: string, fetched: Fetched) => {
  const placed: Array<string> = []
  const staged = Array.from(fetched.staged.values(), (layer) => layer.id)
  const transaction = Effect.gen(function*() {
    yield* ctx.images.unstageLayers(staged)
    // Another import may have finished the same manifest or blobs meanwhile: theirs are used, ours dropped with the staging dir.
    const twin = yield* ctx.images.byManifest(fetched.manifest)
    if (Option.isSome(twin)) return yield* reuse(ctx, job, twin.value)
    const createdAt = yield* Clock.currentTimeMillis
    const uuid = randomUUID()
    if (!(yield* ctx.operations.finish(job.id, { status: "SUCCESS", error: null, metadata: job.metadata, resultImage: uuid }))) return
    const ids = new Map(fetched.known)
    for (const [digest, layer] of fetched.staged) {
      const stored = yield* ctx.images.layerOfBlob(digest)
      if (Option.isSome(stored)) {
        ids.set(digest, stored.value)
        continue
      }
      const target = layerDir(ctx.paths, layer.id)
      yield* Effect.try({ try: () => renameSync(join(staging, layer.id), target), catch: internal("cannot store a layer") })
      placed.push(target)
      yield* ctx.images.insertLayer({ id: layer.id, opaque: layer.opaque }, createdAt)
      yield* ctx.images.recordBlob(digest, layer.id)
      ids.set(digest, layer.id)
    }
    yield* ctx.images.insert({
      uuid,
      layers: topmostOnce(fetched.layers.map((layer) => ids.get(layer.digest)!)),
      parent: null,
      tag: job.tag,
      source: job.source.name,
      operation: job.id,
      createdAt,
      manifest: fetched.manifest,
      defaults: fetched.defaults
    }, undefined)
  })
  return Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => ctx.images.stageLayers(staged, now)),
    Effect.zipRight(ctx.sql.withTransaction(transaction)),
    Effect.mapError((error) => error instanceof LocalEngineError ? error : internal("cannot record the import")(error)),
    Effect.tapError(() => Effect.forEach(placed, removeTree, { discard: true })),
    Effect.zipRight(ctx.settled(job.id)),
    Effect.uninterruptible
  )
}
