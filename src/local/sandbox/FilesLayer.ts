// A run's injected files as a read-only layer, built once and stacked over the image, instead of copies in every run's upper dir.
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { chmodSync, chownSync, closeSync, existsSync, fchmodSync, fchownSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname, join } from "node:path"
import { RecentMap } from "../../domain/RecentMap.js"
import { EngineHost } from "../host/EngineHost.js"
import { removeTree } from "../host/removeTree.js"
import type { LayerStack, StackLayer } from "../images/LayerStack.js"
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

const COPY_BUFFER = Buffer.allocUnsafe(1024 * 1024)

/**
 * Copies an upload to the new file `target` with its owner and mode, by read and write: on the
 * disks measured here copy_file_range (fs.copyFile, cp) made small files ten times slower. The
 * owner is set before the mode: a chown clears the setuid and setgid bits that the mode then sets.
 */
const copyFile = (source: string, target: string, attrs: HostAttributes) => {
  const from = openSync(source, "r")
  try {
    const to = openSync(target, "wx", 0o600)
    try {
      for (let read = readSync(from, COPY_BUFFER); read > 0; read = readSync(from, COPY_BUFFER)) {
        for (let written = 0; written < read;) written += writeSync(to, COPY_BUFFER, written, read - written)
      }
      fchownSync(to, attrs.uid, attrs.gid)
      fchmodSync(to, attrs.mode)
    } finally {
      closeSync(to)
    }
  } finally {
    closeSync(from)
  }
}

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? ""

/** Where a link cannot be made, but a copy can: too many links to one inode, another filesystem, a filesystem without links. */
const COPY_INSTEAD = new Set(["EMLINK", "EXDEV", "EPERM", "ENOTSUP", "EOPNOTSUPP"])

/**
 * Places the plan's files. Each is a hard link to one inode per upload, mode and owner, named in
 * `links/`, so a new version of a synced project costs a link per file, not a copy; the first
 * layer to need an inode copies the upload into itself and only then names it there (a name in
 * `links/` is always a whole file). overlayfs shows a lower file's own inode number, so no two
 * paths a sandbox sees may share one: within a layer an inode is linked once (duplicates are
 * copies), and a layer for a stack that already holds another files layer is all copies.
 */
const placeFiles = (paths: StatePaths, plan: InjectionPlan, staging: string, linking: boolean) => {
  const used = new Set<string>()
  const shards = new Set<string>()
  for (const file of plan.files) {
    const target = staging + file.path
    const source = linkSourcePath(paths, file.sha256, file)
    if (!linking || used.has(source)) {
      copyFile(file.source, target, file)
      continue
    }
    used.add(source)
    try {
      linkSync(source, target)
      continue
    } catch (error) {
      if (errorCode(error) !== "ENOENT" && !COPY_INSTEAD.has(errorCode(error))) throw error
    }
    copyFile(file.source, target, file)
    if (!shards.has(dirname(source))) {
      mkdirSync(dirname(source), { recursive: true, mode: 0o700 })
      shards.add(dirname(source))
    }
    try {
      linkSync(target, source)
    } catch (error) {
      // Named meanwhile by another build, or the inode cannot take more links: this file stays a copy of its own.
      if (errorCode(error) !== "EEXIST" && !COPY_INSTEAD.has(errorCode(error))) throw error
    }
  }
}

/** Writes the plan's tree at `staging`; modes are applied last, so a read-only directory does not stop the files going in. */
const materialise = (paths: StatePaths, plan: InjectionPlan, staging: string, linking: boolean) => {
  mkdirSync(staging, { mode: 0o700 })
  chownSync(staging, plan.root.uid, plan.root.gid)
  for (const dir of plan.directories) {
    mkdirSync(staging + dir.path, { mode: 0o700 })
    chownSync(staging + dir.path, dir.uid, dir.gid)
  }
  placeFiles(paths, plan, staging, linking)
  for (const dir of [...plan.directories].reverse()) chmodSync(staging + dir.path, dir.mode)
  chmodSync(staging, plan.root.mode)
}

/** Removes the names in `links/` that no layer links to any more (a link count of one). */
const removeUnlinked = (links: string) => {
  for (const shard of readdirSync(links)) {
    for (const name of readdirSync(join(links, shard))) {
      const path = join(links, shard, name)
      if (lstatSync(path).nlink === 1) rmSync(path, { force: true })
    }
  }
}

/**
 * Whether the layers above the stack's layer `index` (top first) leave the plan's files as they
 * are: none replaces or deletes a planned file, nor replaces, deletes or makes opaque a planned
 * directory. Only the planned directories are walked, so a big commit elsewhere costs nothing.
 */
const untouchedAbove = (stack: LayerStack, index: number, planned: InjectionPlan): boolean => {
  const files = new Set(planned.files.map((file) => file.path))
  const directories = new Set(planned.directories.map((dir) => dir.path))
  const clean = (layer: StackLayer, dir: string): boolean => {
    const host = layer.dir + (dir === "/" ? "" : dir)
    for (const entry of readdirSync(host, { withFileTypes: true })) {
      const path = dir === "/" ? `/${entry.name}` : `${dir}/${entry.name}`
      if (files.has(path)) return false
      if (!directories.has(path)) continue
      if (!entry.isDirectory() || layer.opaque.has(path.slice(1)) || !clean(layer, path)) return false
    }
    return true
  }
  return stack.layers.slice(0, index).every((layer) => clean(layer, "/"))
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
      const remembered = new RecentMap<string, string | undefined>(REMEMBERED_REQUESTS)
      // The same files (one array per synced state, run after run; see validateRunRequest) are hashed once.
      const digests = new WeakMap<ReadonlyArray<RequestedFile>, string>()
      // One build at a time, so a burst of runs on a new state builds it once.
      const building = yield* Effect.makeSemaphore(1)
      const failed = internal("cannot build the layer of the run's files")
      const touched = new Map<string, number>()
      // Every edit of a synced project makes a new layer. One that no image holds goes once it has
      // been unused for longer than any run can last (its last use may be written up to an hour
      // late, and a commit takes a while), so no run, in this process or another, still has it mounted.
      const keepUnusedMs = settings.maxTimeoutSeconds * 1000 + 3 * TOUCH_EVERY_MS

      const touch = (id: string) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (now - (touched.get(id) ?? 0) < TOUCH_EVERY_MS) return
          yield* records.touchFilesLayer(id, now).pipe(Effect.mapError(failed))
          touched.set(id, now)
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
        if (moved.length > 0) yield* Effect.try({ try: () => removeUnlinked(paths.links), catch: failed })
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

      /**
       * The layer of this plan: `undefined` when the image already holds one with nothing above it
       * touching its files (a run committed with the same files, the usual chain), else one not in
       * the image (a layer appears once in a stack), else a new one.
       */
      const layerFor = (image: ImageRow, stack: LayerStack, planned: InjectionPlan) =>
        building.withPermits(1)(Effect.gen(function*() {
          // The plan without host paths of the uploads: what the layer's content depends on.
          const key = sha256([planned.root, planned.directories, planned.files.map(({ source: _, ...file }) => file)])
          const layers = (yield* records.filesLayers(key).pipe(Effect.mapError(failed))).filter((id) => existsSync(layerDir(paths, id)))
          const held = layers.map((id) => image.layers.lastIndexOf(id)).reduce((top, at) => Math.max(top, at), -1)
          if (held !== -1 && (yield* Effect.try({ try: () => untouchedAbove(stack, image.layers.length - 1 - held, planned), catch: failed }))) {
            return undefined
          }
          const existing = layers.find((id) => !image.layers.includes(id))
          if (existing !== undefined) return existing
          yield* collect
          const id = newLayerId()
          const staging = join(paths.tmp, `${process.pid}-files-${id}`)
          const target = layerDir(paths, id)
          const linking = (yield* records.filesLayersAmong(image.layers).pipe(Effect.mapError(failed))).length === 0
          yield* Effect.try({ try: () => materialise(paths, planned, staging, linking), catch: failed })
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
          let digest = digests.get(files)
          if (digest === undefined) digests.set(files, digest = sha256(files.map((f) => [f.path, f.uuid, f.mode, f.uid, f.gid])))
          const request = sha256([image.layers, cwd, digest])
          const known = remembered.get(request)
          const id = known !== undefined && existsSync(layerDir(paths, known))
            ? known
            : remembered.has(request) && known === undefined
            ? undefined
            : yield* plan(stack, files, cwd).pipe(Effect.flatMap((planned) => (planned === undefined ? Effect.succeed(undefined) : layerFor(image, stack, planned))))
          if (id !== undefined) yield* touch(id)
          remembered.set(request, id)
          return id
        })

      return FilesLayers.of({ forRun })
    })
  )
}
