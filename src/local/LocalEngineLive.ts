import { FetchHttpClient, HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Option, Schedule, type Scope, Stream } from "effect"
import { randomBytes, randomUUID } from "node:crypto"
import { chmodSync, constants, createReadStream, existsSync, mkdirSync, openSync, renameSync } from "node:fs"
import { open } from "node:fs/promises"
import { join } from "node:path"
import { Image } from "../domain/Image.js"
import { isTerminal, type Operation } from "../domain/Operation.js"
import { makeBlobStore, type StoredFile } from "./store/BlobStore.js"
import { BUSYBOX, buildBusyboxLayer, isStaticElf } from "./images/BusyboxImage.js"
import { directoryListing, longListingText } from "./images/DirectoryListing.js"
import { emptyGroup, sandboxGroupOf } from "./host/Cgroup.js"
import { describeHost, type HostCapabilities, probeHost, unavailableReason } from "./host/HostCapabilities.js"
import { isRunning, killGroup, selfIdentity } from "./host/HostProcess.js"
import { type ImageRecords, type ImageRow, makeImageRecords } from "./store/ImageRecords.js"
import { imageUser } from "./images/ImageUser.js"
import { normalizeImagePath as imagePath } from "../domain/ImagePath.js"
import { LayerStack, type MergedEntry, type StackLayer } from "./images/LayerStack.js"
import { LocalDatabase } from "./store/LocalDatabase.js"
import { LocalEngine } from "./LocalEngine.js"
import { internal, invalidRequest, LocalEngineError, notFound } from "./LocalEngineError.js"
import { type LocalEngineOptions, type LocalSettings, resolveSettings } from "./LocalEngineOptions.js"
import { makeOperationQueue } from "./operations/OperationQueue.js"
import { makeOperationRecords, toOperation, toSummary } from "./store/OperationRecords.js"
import { listWindow, requireTag } from "./store/QueryRules.js"
import { recover } from "./startup/Recovery.js"
import { removeTree } from "./host/removeTree.js"
import { executeImport, type ImportProgress } from "./oci/ImageImport.js"
import { openSource } from "./oci/openSource.js"
import { executeRun, newLayerId, type RunContext } from "./sandbox/RunExecution.js"
import { validateRunRequest, withImageDefaults } from "./sandbox/RunRequest.js"
import { runNetwork } from "./sandbox/SandboxNetwork.js"
import { makeSandboxPool } from "./sandbox/SandboxPool.js"
import type { SandboxHost } from "./sandbox/SandboxProcess.js"
import { layerDir, statePaths, type StatePaths } from "./store/StatePaths.js"

const BUSYBOX_TAG = "busybox:latest"
const SHUTDOWN = "interrupted: the server shut down before the operation finished"
/** Sandboxes kept prepared for the next runs: enough for back-to-back runs, few idle processes. */
const POOL_SIZE = 2

const toImage = (row: ImageRow) => new Image({ uuid: row.uuid, tag: row.tag, created_at: new Date(row.createdAt).toISOString() })
const toUploaded = (file: StoredFile) => ({ uuid: file.uuid, sha256: file.sha256, size: file.size })

/** rlimits standing in for the cgroup caps this host does not give us (bash `ulimit` letters; -d takes KiB). */
const ulimits = (host: HostCapabilities, settings: LocalSettings): string => {
  const cg = host.cgroups
  const capped = (c: string) => (cg._tag === "V1" ? c in cg.parents : cg._tag === "V2" ? cg.controllers.includes(c) : false)
  return [
    ...(settings.memoryBytes !== null && !capped("memory") ? [`d=${Math.floor(settings.memoryBytes / 1024)}`] : []),
    ...(settings.pids !== null && !capped("pids") ? [`u=${settings.pids}`] : [])
  ].join(" ")
}

/** The offline base image, built once per state directory (another server process may be doing it too). */
const ensureBusybox = (sql: SqlClient.SqlClient, images: ImageRecords, paths: StatePaths, host: HostCapabilities) =>
  Effect.gen(function*() {
    const done = yield* sql<{ value: string }>`SELECT value FROM meta WHERE key = 'base:busybox'`
    if (done.length > 0) return
    if (!existsSync(BUSYBOX)) {
      return yield* Effect.logWarning(`no offline base image: ${BUSYBOX} is missing (Debian: apt-get install busybox-static)`)
    }
    const layer = newLayerId()
    const staging = join(paths.tmp, `${process.pid}-busybox-${layer}`)
    const version = yield* buildBusyboxLayer(staging, host.ids.uid, host.ids.gid)
    const uuid = randomUUID()
    const claimed = yield* sql.withTransaction(Effect.gen(function*() {
      const won = yield* sql`INSERT INTO meta (key, value) VALUES ('base:busybox', ${uuid}) ON CONFLICT(key) DO NOTHING RETURNING key`
      if (won.length === 0) return false
      const tagFree = Option.isNone(yield* images.byTag(BUSYBOX_TAG))
      yield* Effect.try({ try: () => renameSync(staging, layerDir(paths, layer)), catch: internal("cannot store the base image") })
      yield* images.insert(
        {
          uuid,
          layers: [layer],
          parent: null,
          tag: tagFree ? BUSYBOX_TAG : null,
          source: `busybox-static ${version}`,
          operation: null,
          createdAt: Date.now(),
          manifest: null,
          defaults: null
        },
        { id: layer, opaque: [] }
      )
      return true
    }))
    if (!claimed) yield* removeTree(staging)
  })

/**
 * Layer files carry host ids: a state directory only works with the id mapping it was made with
 * (the same user, and as root the same `idBase`). Recorded on first use, checked ever after.
 */
const checkIds = (sql: SqlClient.SqlClient, host: HostCapabilities, paths: StatePaths) =>
  Effect.gen(function*() {
    const mapping = `${host.ids.uid}:${host.ids.gid}:${host.ids.count}`
    yield* sql`INSERT INTO meta (key, value) VALUES ('ids', ${mapping}) ON CONFLICT(key) DO NOTHING`
    const recorded = (yield* sql<{ value: string }>`SELECT value FROM meta WHERE key = 'ids'`)[0]?.value
    if (recorded !== mapping) {
      return yield* new LocalEngineError({
        reason: "Unavailable",
        message: `${paths.root} was made with sandbox ids at host uid:gid:count ${recorded}, but this server maps them to ${mapping}: ` +
          "run it as the same user (and, as root, with the same id base), or use another state directory"
      })
    }
  }).pipe(Effect.catchTag("SqlError", internal("cannot read the engine database")))

export const makeLocalEngine = (options: LocalEngineOptions) =>
  Effect.gen(function*() {
    const settings = resolveSettings(options)
    const paths = statePaths(settings.stateDir)
    const host = yield* probeHost(settings)
    const sql = yield* SqlClient.SqlClient
    const images = makeImageRecords(sql)
    const operations = makeOperationRecords(sql)
    const blobs = makeBlobStore(sql, paths)
    // This process plus a per-engine suffix: two engines of one process must not take each other's operations for their own.
    const owner = `${selfIdentity()}:${randomBytes(4).toString("hex")}`
    const unavailable = unavailableReason(host)
    const describe = describeHost(host, settings)
    const db = internal("the engine database failed")
    const fromSql = <A>(effect: Effect.Effect<A, SqlError>) => Effect.mapError(effect, db)

    yield* checkIds(sql, host, paths)
    yield* recover({ sql, paths, images, operations, cgroups: host.cgroups })
    if (settings.baseImages) {
      yield* ensureBusybox(sql, images, paths, host).pipe(
        Effect.catchAll((error) => Effect.logWarning(`the busybox base image is not available: ${error.message}`))
      )
    }
    yield* Effect.logInfo(`local backend in ${paths.root}\n${describe.join("\n")}`)

    const layers = new Map<string, StackLayer>()
    const stackOf = (image: ImageRow): Effect.Effect<LayerStack, LocalEngineError> =>
      Effect.forEach([...image.layers].reverse(), (id) => {
        const known = layers.get(id)
        if (known !== undefined) return Effect.succeed(known)
        return fromSql(images.layer(id)).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(internal("broken image")(`layer ${id} of image ${image.uuid} is not recorded`)),
            onSome: (row) => {
              const layer = { dir: layerDir(paths, id), opaque: new Set(row.opaque) }
              layers.set(id, layer)
              return Effect.succeed(layer)
            }
          }))
        )
      }).pipe(Effect.map((stack) => new LayerStack(stack)))

    const requireImage = (uuid: string) =>
      fromSql(images.get(uuid)).pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound("Image not found")), onSome: Effect.succeed })))

    const resolveRef = (ref: string) =>
      ref.startsWith("tag:")
        ? fromSql(images.byTag(ref.slice(4))).pipe(
          Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound("Image not found")), onSome: Effect.succeed }))
        )
        : requireImage(ref)

    const inspect = <A>(uuid: string, what: string, f: (stack: LayerStack) => A) =>
      requireImage(uuid).pipe(
        Effect.flatMap(stackOf),
        Effect.flatMap((stack) =>
          Effect.try({ try: () => f(stack), catch: (error) => error instanceof LocalEngineError ? error : internal(what)(error) })
        )
      )

    const directory = (uuid: string, path: string) =>
      inspect(uuid, "cannot list the directory", (stack) => {
        const p = imagePath(path)
        const entry = stack.resolve(p, true)
        if (entry === undefined) throw notFound("Directory not found")
        if (!entry.stats.isDirectory()) throw invalidRequest("Not a directory")
        return { path: p, entries: stack.list(entry) }
      })

    /** The entry of a regular file to read; relative paths start at `/`, as the cloud accepts them. */
    const regularFile = (uuid: string, path: string) =>
      path === ""
        ? Effect.fail(invalidRequest("path is required"))
        : inspect(uuid, "cannot read the file", (stack): MergedEntry => {
          const entry = stack.resolve(imagePath(path), true)
          if (entry === undefined) throw notFound("file not found")
          if (entry.stats.isDirectory()) throw invalidRequest("path is a directory")
          if (!entry.stats.isFile()) throw invalidRequest("path is not a regular file")
          return entry
        })

    // O_NOFOLLOW: the entry was resolved inside the image; the host must not follow anything further.
    const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW

    const sandboxHost: SandboxHost = {
      stateDir: paths.root,
      ids: host.ids,
      root: host.root,
      diskBytes: host.tmpfsUpper ? settings.diskBytes : null,
      ulimits: ulimits(host, settings),
      cgroups: host.cgroups,
      limits: settings
    }
    // Registered before the queue, so it runs after the queue has stopped this process's runs.
    yield* Effect.addFinalizer(() =>
      operations.active.pipe(
        Effect.flatMap(Effect.forEach((row) => row.owner === owner ? operations.abandon(row.uuid, SHUTDOWN) : Effect.succeed(false))),
        Effect.catchAll((error) => Effect.logWarning(`could not record the end of running operations: ${error.message}`))
      )
    )
    // Made before the queue, so its sandboxes are killed after the queue has stopped this process's runs.
    const sandboxes = yield* makeSandboxPool(sandboxHost, unavailable === undefined ? Math.min(POOL_SIZE, settings.maxConcurrentRuns) : 0)
    const queue = yield* makeOperationQueue(settings.maxConcurrentRuns)
    const context: RunContext = { settings, paths, host, sandboxHost, sandboxes, sql, images, operations, blobs, stackOf, settled: queue.settle }

    /** PENDING → EXECUTING → what `execute` records, or FAILED with its error. */
    const operationTask = (id: string, metadata: Record<string, unknown>, execute: Effect.Effect<void, LocalEngineError, Scope.Scope>) =>
      Effect.gen(function*() {
        if (!(yield* fromSql(operations.start(id)))) return
        yield* Effect.scoped(execute).pipe(
          Effect.catchAll((error) => fromSql(operations.finish(id, { status: "FAILED", error: error.message, metadata, resultImage: null })))
        )
      }).pipe(
        Effect.catchAll((error) => Effect.logError(`operation ${id} could not be recorded: ${error.message}`)),
        Effect.catchAllDefect((defect) =>
          Effect.logError(`operation ${id} failed unexpectedly`, defect).pipe(
            Effect.zipRight(operations.abandon(id, `the local engine failed: ${String(defect)}`)),
            Effect.ignore
          )
        )
      )

    const spawn: LocalEngine["Type"]["spawn"] = (request, options) =>
      Effect.gen(function*() {
        const network = yield* runNetwork(settings.network, host.networkHelper, options?.network)
        const validated = yield* validateRunRequest(request, network)
        const image = yield* resolveRef(request.image)
        const defaulted = yield* withImageDefaults(validated, request, image.defaults)
        // No request field names a user: an image's User applies to every run of it, as `docker run` without `-u`.
        const user = image.defaults?.user ? yield* imageUser(yield* stackOf(image), image.defaults.user, host.ids) : undefined
        if (user !== undefined && user.uid !== 0 && !(yield* Effect.sync(() => existsSync(BUSYBOX) && isStaticElf(BUSYBOX)))) {
          return yield* new LocalEngineError({
            reason: "Unavailable",
            message: `the image runs as uid ${user.uid}, and switching to it needs a static ${BUSYBOX} (Debian: apt-get install busybox-static)`
          })
        }
        const run = { ...defaulted, user }
        if (unavailable !== undefined) return yield* new LocalEngineError({ reason: "Unavailable", message: unavailable })
        const id = randomUUID()
        yield* fromSql(operations.insert({
          uuid: id,
          kind: "instance",
          status: "PENDING",
          error: null,
          image: image.uuid,
          resultImage: null,
          metadata: run.metadata,
          owner,
          sandbox: null,
          createdAt: Date.now(),
          finishedAt: null
        }))
        yield* queue.submit(id, operationTask(id, run.metadata, executeRun(context, id, image, run)))
        return id
      })

    const http = yield* HttpClient.HttpClient
    const importing = new Map<string, ImportProgress>()
    const importContext = { paths, ids: host.ids, sql, images, operations, settled: queue.settle }

    const importImage: LocalEngine["Type"]["importImage"] = (request) =>
      Effect.gen(function*() {
        if (!(request.timeout > 0)) return yield* invalidRequest("timeout must be positive")
        const tag = request.tag ?? null
        if (tag !== null) yield* requireTag(tag)
        const source = yield* openSource(request, settings.insecureRegistries).pipe(Effect.provideService(HttpClient.HttpClient, http))
        // Credentials are never echoed (spec U18).
        const metadata = { registry: { url: request.registry.url }, tag, timeout: request.timeout }
        const id = randomUUID()
        yield* fromSql(operations.insert({
          uuid: id,
          kind: "image_import",
          status: "PENDING",
          error: null,
          image: null,
          resultImage: null,
          metadata,
          owner,
          sandbox: null,
          createdAt: Date.now(),
          finishedAt: null
        }))
        const progress: ImportProgress = { done: 0, total: 0 }
        importing.set(id, progress)
        // A cancel from another server process only changes the row: watch it, so the import stops here too.
        const cancelledElsewhere = fromSql(operations.get(id)).pipe(
          Effect.repeat({ schedule: Schedule.spaced("500 millis"), while: (row) => Option.isSome(row) && row.value.status === "EXECUTING" }),
          Effect.zipRight(Effect.fail(new LocalEngineError({ reason: "Conflict", message: "the import was cancelled" })))
        )
        const execute = Effect.raceFirst(executeImport(importContext, { id, source, tag, metadata, progress }), cancelledElsewhere).pipe(
          Effect.timeoutFail({
            duration: `${request.timeout} seconds`,
            onTimeout: () => new LocalEngineError({ reason: "Internal", message: `the import did not finish within ${request.timeout} seconds` })
          }),
          Effect.ensuring(Effect.sync(() => importing.delete(id)))
        )
        yield* queue.submit(id, operationTask(id, metadata, execute))
        return id
      })

    // Sampled rather than pushed: an import moves megabytes a second, a client wants a few updates.
    const watchProgress: LocalEngine["Type"]["watchProgress"] = (uuid) =>
      Stream.repeatEffectOption(Effect.suspend(() => {
        const progress = importing.get(uuid)
        return progress === undefined ? Effect.fail(Option.none()) : Effect.succeed({ done: progress.done, total: progress.total })
      })).pipe(
        Stream.schedule(Schedule.spaced("250 millis")),
        Stream.changesWith((a, b) => a.done === b.done && a.total === b.total)
      )

    const requireOperation = (uuid: string) =>
      fromSql(operations.get(uuid)).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound("Operation not found")), onSome: Effect.succeed }))
      )

    const cancelOperation = (uuid: string) =>
      Effect.gen(function*() {
        const row = yield* requireOperation(uuid)
        if (isTerminal(row.status) || !(yield* fromSql(operations.cancel(uuid)))) return false
        if (row.owner === owner) {
          yield* queue.interrupt(uuid)
        } else {
          // Another server process runs it: killing its setup process's group takes the sandbox down; that process cleans up.
          const sandbox = Option.flatMap(yield* fromSql(operations.get(uuid)), (r) => Option.fromNullable(r.sandbox))
          if (Option.isSome(sandbox)) {
            // Found first: the group outlives the setup process, and holds what its kill may leave (see Cgroup).
            const group = isRunning(sandbox.value) ? sandboxGroupOf(Number(sandbox.value.split(":")[0])) : undefined
            killGroup(sandbox.value)
            yield* Effect.sync(() => isRunning(sandbox.value)).pipe(
              Effect.repeat({ schedule: Schedule.spaced("5 millis"), while: (running) => running }),
              Effect.timeout("5 seconds"),
              Effect.ignore
            )
            if (group !== undefined) yield* emptyGroup(group, 5_000)
          }
        }
        return true
      })

    const awaitOperation = (uuid: string): Effect.Effect<Operation, LocalEngineError> =>
      Effect.gen(function*() {
        while (true) {
          const row = yield* requireOperation(uuid)
          if (isTerminal(row.status)) return toOperation(row)
          const done = queue.whenDone(uuid)
          // Runs of this process wake the caller when they end; others are watched in the database.
          yield* Option.isSome(done) ? done.value : Effect.sleep("200 millis")
        }
      })

    return LocalEngine.of({
      listImages: (query) =>
        listWindow(query).pipe(
          Effect.flatMap((window) => fromSql(images.list({ window, tagged: query.tagged, tagPrefix: query.tagPrefix }))),
          Effect.map((rows) => rows.map(toImage))
        ),
      getImage: (uuid) => Effect.map(requireImage(uuid), toImage),
      resolveTag: (tag) =>
        tag === ""
          ? Effect.fail(invalidRequest("tag is required"))
          : fromSql(images.byTag(tag)).pipe(
            Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound("Image not found")), onSome: (row) => Effect.succeed(toImage(row)) }))
          ),
      tagImage: (uuid, tag) =>
        Effect.gen(function*() {
          yield* requireImage(uuid)
          yield* requireTag(tag)
          yield* fromSql(images.setTag(uuid, tag))
          return toImage(yield* requireImage(uuid))
        }),
      untagImage: (uuid) => requireImage(uuid).pipe(Effect.zipRight(fromSql(images.clearTag(uuid)))),
      listDirectory: (uuid, path) => Effect.map(directory(uuid, path), ({ entries, path: p }) => directoryListing(p, entries, host.ids)),
      listDirectoryText: (uuid, path) =>
        directory(uuid, path).pipe(
          Effect.flatMap(({ entries, path: p }) =>
            Effect.try({
              try: () => longListingText(directoryListing(p, entries, host.ids), entries.map((e) => e.stats.nlink)),
              catch: internal("cannot list the directory")
            })
          )
        ),
      readFile: (uuid, path) =>
        regularFile(uuid, path).pipe(
          Effect.flatMap((entry) =>
            Effect.tryPromise({
              try: async () => {
                const handle = await open(entry.hostPath, READ_FLAGS)
                try {
                  return new Uint8Array(await handle.readFile())
                } finally {
                  await handle.close()
                }
              },
              catch: internal("cannot read the file")
            })
          )
        ),
      downloadFile: (uuid, path) =>
        regularFile(uuid, path).pipe(
          Effect.flatMap((entry) => Effect.try({ try: () => openSync(entry.hostPath, READ_FLAGS), catch: internal("cannot read the file") })),
          Effect.map((fd) =>
            Stream.fromAsyncIterable(createReadStream("", { fd, highWaterMark: 1024 * 1024 }), internal("cannot read the file")).pipe(
              Stream.map((chunk) => new Uint8Array(chunk as Buffer))
            )
          ),
          Stream.unwrap
        ),
      fileExists: (uuid, path) =>
        fromSql(images.get(uuid)).pipe(
          Effect.flatMap((row) =>
            Option.isNone(row) ? Effect.succeed(false) : regularFile(uuid, path).pipe(
              Effect.as(true),
              Effect.catchIf((error) => error.reason === "NotFound", () => Effect.succeed(false))
            )
          )
        ),
      uploadFile: (body) => Effect.map(blobs.upload(body), toUploaded),
      findFileByHash: (sha256) => Effect.map(blobs.byHash(sha256), Option.map(toUploaded)),
      findFileByUuid: (uuid) => Effect.map(blobs.byUuid(uuid), Option.map(toUploaded)),
      spawn,
      importImage,
      watchProgress,
      listOperations: (query) =>
        listWindow(query).pipe(
          Effect.flatMap((window) => fromSql(operations.list({ window, status: query.status, kind: query.kind }))),
          Effect.map((rows) => rows.map(toSummary))
        ),
      getOperation: (uuid) => Effect.map(requireOperation(uuid), toOperation),
      cancelOperation,
      awaitOperation,
      describe
    })
  })

const prepareStateDir = (paths: StatePaths) =>
  Effect.try({
    try: () => {
      // The sandbox's root (another host uid when the server is root) must traverse these, not list them.
      for (const dir of [paths.root, paths.layers, paths.runs]) {
        mkdirSync(dir, { recursive: true })
        chmodSync(dir, 0o711)
      }
      for (const dir of [paths.blobs, paths.tmp]) mkdirSync(dir, { recursive: true, mode: 0o700 })
    },
    catch: internal(`cannot create the state directory ${paths.root}`)
  })

/** The engine over the state directory in `options`, with its database; its runs are stopped when the layer is released. */
export const LocalEngineLive = (options: LocalEngineOptions): Layer.Layer<LocalEngine, LocalEngineError> => {
  const paths = statePaths(options.stateDir)
  return Layer.scoped(LocalEngine, makeLocalEngine(options)).pipe(
    Layer.provide(LocalDatabase(paths.database)),
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Layer.effectDiscard(prepareStateDir(paths)))
  )
}
