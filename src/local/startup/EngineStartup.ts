// Start-up and shut-down of an engine over its state directory: the id-mapping check, crash recovery, the base image, and the record of what shutting down interrupts.
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schema } from "effect"
import { EngineHost } from "../host/EngineHost.js"
import type { HostCapabilities } from "../host/HostCapabilities.js"
import { internal, LocalEngineError } from "../LocalEngineError.js"
import { ImageStore } from "../store/ImageStore.js"
import { OperationStore } from "../store/OperationStore.js"
import type { StatePaths } from "../store/StatePaths.js"
import { ensureBusybox } from "./BaseImage.js"
import { recover } from "./Recovery.js"

const SHUTDOWN = "interrupted: the server shut down before the operation finished"

const decodeMeta = Schema.decodeUnknown(Schema.Array(Schema.Struct({ value: Schema.String })))

/**
 * Layer files carry host ids: a state directory only works with the id mapping it was made with
 * (the same user, and as root the same `idBase`). Recorded on first use, checked ever after.
 */
const checkIds = (sql: SqlClient.SqlClient, host: HostCapabilities, paths: StatePaths) =>
  Effect.gen(function*() {
    const mapping = `${host.ids.uid}:${host.ids.gid}:${host.ids.count}`
    yield* sql`INSERT INTO meta (key, value) VALUES ('ids', ${mapping}) ON CONFLICT(key) DO NOTHING`
    const recorded = (yield* Effect.flatMap(sql`SELECT value FROM meta WHERE key = 'ids'`, decodeMeta))[0]?.value
    if (recorded !== mapping) {
      return yield* new LocalEngineError({
        reason: "Unavailable",
        message: `${paths.root} was made with sandbox ids at host uid:gid:count ${recorded}, but this server maps them to ${mapping}: ` +
          "run it as the same user (and, as root, with the same id base), or use another state directory"
      })
    }
  }).pipe(Effect.catchTags({ SqlError: internal("cannot read the engine database"), ParseError: internal("cannot read the engine database") }))

/**
 * Checks the id mapping, recovers from a crash of any process sharing the state directory, and
 * builds the busybox base image on first start. When released, records this engine's operations
 * still active as interrupted: built before the pool and the runner, it is released after them,
 * once the runner has stopped this process's runs.
 */
export const EngineStartup: Layer.Layer<never, LocalEngineError, SqlClient.SqlClient | EngineHost | ImageStore | OperationStore> =
  Layer.scopedDiscard(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { describe, host, owner, paths, settings } = yield* EngineHost
    const images = (yield* ImageStore).records
    const operations = (yield* OperationStore).records

    yield* checkIds(sql, host, paths)
    yield* recover({ sql, paths, images, operations, cgroups: host.cgroups })
    if (settings.baseImages) {
      yield* ensureBusybox(sql, images, paths, host).pipe(
        Effect.catchAll((error) => Effect.logWarning(`the busybox base image is not available: ${error.message}`))
      )
    }
    yield* Effect.logInfo(`local backend in ${paths.root}\n${describe.join("\n")}`)
    yield* Effect.addFinalizer(() =>
      operations.active.pipe(
        Effect.flatMap(Effect.forEach((row) => row.owner === owner ? operations.abandon(row.uuid, SHUTDOWN) : Effect.succeed(false))),
        Effect.catchAll((error) => Effect.logWarning(`could not record the end of running operations: ${error.message}`))
      )
    )
  }))
