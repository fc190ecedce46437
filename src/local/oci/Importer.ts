// Imports: an image from a registry, layout or archive, queued as an operation, with the progress of those this process runs.
import * as HttpClient from "@effect/platform/HttpClient"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Schedule, Stream } from "effect"
import type { ImportRequest } from "../../domain/Operation.js"
import { EngineHost } from "../host/EngineHost.js"
import { invalidRequest, LocalEngineError } from "../LocalEngineError.js"
import { OperationRunner } from "../operations/OperationRunner.js"
import { pollUntil } from "../host/Polling.js"
import { ImageStore } from "../store/ImageStore.js"
import { databaseFailed } from "../store/LocalDatabase.js"
import { OperationStore } from "../store/OperationStore.js"
import { requireTag } from "../store/QueryRules.js"
import { executeImport, type ImportContext, type ImportProgress } from "./ImageImport.js"
import { freeSpaceOf, importBudget } from "./ImportBudget.js"
import { openSource } from "./openSource.js"

export class Importer extends Context.Tag("contree/local/Importer")<Importer, {
  /** Queues an import from a registry or a local layout or archive (`openSource`); the operation id comes back at once. */
  readonly importImage: (request: ImportRequest) => Effect.Effect<string, LocalEngineError>
  /** Bytes fetched of an import of this process as they grow; ends when the import does (at once for anything else). */
  readonly watchProgress: (uuid: string) => Stream.Stream<{ readonly done: number; readonly total: number }>
}>() {
  static readonly layer: Layer.Layer<
    Importer,
    never,
    HttpClient.HttpClient | EngineHost | ImageStore | OperationStore | OperationRunner | SqlClient.SqlClient
  > = Layer.scoped(
    Importer,
    Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      const { host, paths, settings } = yield* EngineHost
      const operations = yield* OperationStore
      const runner = yield* OperationRunner
      const context: ImportContext = {
        paths,
        ids: host.ids,
        sql: yield* SqlClient.SqlClient,
        images: (yield* ImageStore).records,
        operations: operations.records,
        settled: runner.settled,
        budget: () => importBudget(settings.maxImportBytes, () => freeSpaceOf(paths.root))
      }
      // One entry per queued or running import of this engine, removed when its task ends: as bounded as the queue.
      const importing = new Map<string, ImportProgress>()
      yield* Effect.addFinalizer(() => Effect.sync(() => importing.clear()))

      // A cancel from another server process only changes the row: watch it, so the import stops here too.
      const cancelledElsewhere = (id: string) =>
        pollUntil(
          Effect.mapError(operations.records.get(id), databaseFailed),
          (row) => !(Option.isSome(row) && row.value.status === "EXECUTING"),
          Effect.sleep("500 millis")
        ).pipe(Effect.zipRight(Effect.fail(new LocalEngineError({ reason: "Conflict", message: "the import was cancelled" }))))

      const importImage = (request: ImportRequest) =>
        Effect.gen(function*() {
          if (!(request.timeout > 0)) return yield* invalidRequest("timeout must be positive")
          const tag = request.tag ?? null
          if (tag !== null) yield* requireTag(tag)
          const source = yield* openSource(request, settings.insecureRegistries).pipe(Effect.provideService(HttpClient.HttpClient, http))
          // Credentials are never echoed (spec U18).
          const metadata = { registry: { url: request.registry.url }, tag, timeout: request.timeout }
          const id = yield* operations.create("image_import", { image: null, metadata })
          const progress: ImportProgress = { done: 0, total: 0 }
          importing.set(id, progress)
          const execute = Effect.raceFirst(executeImport(context, { id, source, tag, metadata, progress }), cancelledElsewhere(id)).pipe(
            Effect.timeoutFail({
              duration: `${request.timeout} seconds`,
              onTimeout: () => new LocalEngineError({ reason: "Internal", message: `the import did not finish within ${request.timeout} seconds` })
            })
          )
          yield* runner.submit(id, metadata, execute, Effect.sync(() => importing.delete(id)))
          return id
        })

      // Sampled rather than pushed: an import moves megabytes a second, a client wants a few updates.
      const watchProgress = (uuid: string) =>
        Stream.repeatEffectOption(Effect.suspend(() => {
          const progress = importing.get(uuid)
          return progress === undefined ? Effect.fail(Option.none()) : Effect.succeed({ done: progress.done, total: progress.total })
        })).pipe(
          Stream.schedule(Schedule.spaced("250 millis")),
          Stream.changesWith((a, b) => a.done === b.done && a.total === b.total)
        )

      return Importer.of({ importImage, watchProgress })
    })
  )
}
