// A run's injected files as a read-only layer, built once and stacked over the image, instead of copies in every run's upper dir.
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { EngineHost } from "../host/EngineHost.js"
import { removeTree } from "../host/removeTree.js"
import type { LayerStack } from "../images/LayerStack.js"
import { internal, type LocalEngineError, notFound } from "../LocalEngineError.js"
import { BlobStore } from "../store/BlobStore.js"
import type { ImageRow } from "../store/ImageRecords.js"
import { ImageStore } from "../store/ImageStore.js"
import { layerDir, linkSourcePath, newLayerId, type StatePaths } from "../store/StatePaths.js"
import { type HostAttributes, type InjectionPlan, planInjection } from "./FileInjection.js"
import type { RequestedFile } from "./RunRequest.js"

/** Layers found for recent requests: a repeated run (the agent's loop) costs one hash, not a plan. */
const REMEMBERED_REQUESTS = 256

/** How often a layer's last use is written down: runs that reuse it cost no write. */
const TOUCH_EVERY_MS = 60 * 60 * 1000

const sha256 = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex")

/** Errors a hard link may meet where a copy still works: too many links to one inode, another filesystem, a filesystem without links. */
const COPY_INSTEAD = new Set(["EMLINK", "EXDEV", "EPERM", "ENOTSUP", "EOPNOTSUPP"])

/** Owner first: a chown clears the setuid and setgid bits that the mode then sets. */
const apply = (path: string, attrs: HostAttributes) => {
  chownSync(path, attrs.uid, attrs.gid)
  chmodSync(path, attrs.mode)
}

/**
 * The file for `target` in a layer. Files are hard links to one copy of the upload per mode and
 * owner (`links/`), so placing a file costs a link, however large it is and however many layers
 * hold it; a copy is made where a link cannot be.
 */
const placeFile = (paths: StatePaths, file: InjectionPlan["files"][number], target: string) => {
  const source = linkSourcePath(paths, file.sha256, file)
  if (!existsSync(source)) {
    const staged = join(paths.tmp, `${process.pid}-link-${randomBytes(6).toString("hex")}`)
    try {
      copyFileSync(file.source, staged)
      apply(staged, file)
      mkdirSync(dirname(source), { recursive: true, mode: 0o700 })
      renameSync(staged, source)
    } finally {
      rmSync(staged, { force: true })
    }
  }
  try {
    linkSync(source, target)
  } catch (error) {
    if (!COPY_INSTEAD.has((error as NodeJS.ErrnoException).code ?? "")) throw error
    copyFileSync(source, target)
    apply(target, file)
  }
}

/** Writes the plan's tree at `staging`; modes are applied last, so a read-only directory does not stop the files going in. */
const materialise = (paths: StatePaths, plan: InjectionPlan, staging: string) => {
  mkdirSync(staging, { mode: 0o700 })
  chownSync(staging, plan.root.uid, plan.root.gid)
  for (const dir of plan.directories) {
    mkdirSync(staging + dir.path, { mode: 0o700 })
    chownSync(staging + dir.path, dir.uid, dir.gid)
  }
  for (const file of plan.files) placeFile(paths, file, staging + file.path)
  for (const dir of [...plan.directories].reverse()) chmodSync(staging + dir.path, dir.mode)
  chmodSync(staging, plan.root.mode)
}

export class FilesLayers extends Context.Tag("contree/local/FilesLayers")<FilesLayers, {
  /**
   * The layer (its id) that places a run's files, and its working directory when the image lacks
   * it, over `image`; built when no layer of the same plan exists yet. It goes above the image's
   * layers (and the runtime layer), so the files win over what the image has at their paths, and
   * a committed run keeps it among its layers. `undefined` when there is nothing to place.
   */
  readonly forRun: (
    image: ImageRow,
    stack: LayerStack,
    files: ReadonlyArray<RequestedFile>,
    cwd: string
  ) => Effect.Effect<string | undefined, LocalEngineError>
}>() {
  static readonly layer: Layer.Layer<FilesLayers, never, SqlClient.SqlClient | EngineHost | ImageStore | BlobStore> = Layer.effect(
    FilesLayers,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { paths, host, settings } = yield* EngineHost
      const records = (yield* ImageStore).records
      const blobs = yield* BlobStore
      const remembered = new Map<string, string | undefined>()
      // Builds are rare and short (links); one at a time, so a burst of runs on a new state builds it once.
      const building = yield* Effect.makeSemaphore(1)
      const failed = internal("cannot build the layer of the run's files")
      const touched = new Map<string, number>()
      // Every edit of a synced project makes a new layer (links, so mostly directory entries). One
      // that no image holds goes once it has been unused for longer than any run can last, so no
      // run, in this process or another, can still have it mounted.
      const keepUnusedMs = settings.maxTimeoutSeconds * 1000 + TOUCH_EVERY_MS

      const touch = (id: string) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (now - (touched.get(id) ?? 0) < TOUCH_EVERY_MS) return
          touched.set(id, now)
          yield* records.touchFilesLayer(id, now).pipe(Effect.mapError(failed))
        })

      const collect = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const moved = yield* sql.withTransaction(Effect.gen(function*() {
          const stale = yield* records.staleFilesLayers(now - keepUnusedMs)
          yield* records.deleteFilesLayers(stale)
          return stale.flatMap((id) => {
            const away = join(paths.tmp, `${process.pid}-stale-${id}`)
            try {
              renameSync(layerDir(paths, id), away)
              return [away]
            } catch {
              return []
            }
          })
        }))
        yield* Effect.forEach(moved, removeTree, { discard: true })
      }).pipe(Effect.catchAll((error) => Effect.logWarning(`cannot remove unused files layers: ${error.message}`)))

      const plan = (stack: LayerStack, files: ReadonlyArray<RequestedFile>, cwd: string) =>
        Effect.gen(function*() {
          const stored = yield* blobs.byUuids(files.map((file) => file.uuid))
          const injected = []
          for (const file of files) {
            const blob = stored.get(file.uuid)
            if (blob === undefined) return yield* notFound(`File not found: ${file.uuid}`)
            injected.push({ ...file, source: blobs.path(blob), sha256: blob.sha256 })
          }
          return yield* planInjection(stack, injected, cwd, host.ids)
        })

      /** A layer of this plan not already in the image (a layer appears once in a stack), else a new one. */
      const layerFor = (image: ImageRow, planned: InjectionPlan) =>
        building.withPermits(1)(Effect.gen(function*() {
          // The plan without host paths of the uploads: what the layer's content depends on.
          const key = sha256([planned.root, planned.directories, planned.files.map(({ source: _, ...file }) => file)])
          const existing = (yield* records.filesLayers(key).pipe(Effect.mapError(failed)))
            .find((id) => !image.layers.includes(id) && existsSync(layerDir(paths, id)))
          if (existing !== undefined) return existing
          yield* collect
          const id = newLayerId()
          const staging = join(paths.tmp, `${process.pid}-files-${id}`)
          const target = layerDir(paths, id)
          yield* Effect.try({ try: () => materialise(paths, planned, staging), catch: failed })
          const createdAt = yield* Clock.currentTimeMillis
          yield* records.stageLayers([id], createdAt).pipe(Effect.mapError(failed))
          // Renamed into place inside the transaction that records it, as a committed layer is.
          yield* sql.withTransaction(Effect.gen(function*() {
            yield* records.insertLayer({ id, opaque: [] }, createdAt)
            yield* records.unstageLayers([id])
            yield* Effect.try({ try: () => renameSync(staging, target), catch: failed })
            yield* records.recordFilesLayer(key, id, createdAt)
          })).pipe(
            Effect.mapError((error) => (error._tag === "LocalEngineError" ? error : failed(error))),
            Effect.tapError(() => removeTree(target)),
            Effect.ensuring(Effect.suspend(() => (existsSync(staging) ? removeTree(staging) : Effect.void)))
          )
          touched.set(id, createdAt)
          return id
        }))

      const forRun = (image: ImageRow, stack: LayerStack, files: ReadonlyArray<RequestedFile>, cwd: string) =>
        Effect.gen(function*() {
          // Layers are immutable and uploads never change: the same request over the same layers has the same answer.
          const request = sha256([image.layers, cwd, files.map((f) => [f.path, f.uuid, f.mode, f.uid, f.gid])])
          const known = remembered.get(request)
          const id = known !== undefined && existsSync(layerDir(paths, known))
            ? known
            : remembered.has(request) && known === undefined
            ? undefined
            : yield* plan(stack, files, cwd).pipe(Effect.flatMap((planned) => (planned === undefined ? Effect.succeed(undefined) : layerFor(image, planned))))
          if (id !== undefined) yield* touch(id)
          remembered.delete(request)
          remembered.set(request, id)
          if (remembered.size > REMEMBERED_REQUESTS) remembered.delete(remembered.keys().next().value!)
          return id
        })

      return FilesLayers.of({ forRun })
    })
  )
}
