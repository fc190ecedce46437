// Operations: their records, and the one way a new one is written.
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { Operation, OperationKind, OperationSummary } from "../../domain/Operation.js"
import { EngineHost } from "../host/EngineHost.js"
import { type LocalEngineError, notFound } from "../LocalEngineError.js"
import { databaseFailed } from "./LocalDatabase.js"
import { makeOperationRecords, type OperationFilter, type OperationRecords, type OperationRow, toOperation, toSummary } from "./OperationRecords.js"

const db = databaseFailed

export class OperationStore extends Context.Tag("contree/local/OperationStore")<OperationStore, {
  /** The rows themselves: state changes, and writes inside a caller's transaction. */
  readonly records: OperationRecords
  /** Records a new PENDING operation of this engine; its uuid. */
  readonly create: (
    kind: OperationKind,
    fields: { readonly image: string | null; readonly metadata: Record<string, unknown> }
  ) => Effect.Effect<string, LocalEngineError>
  readonly require: (uuid: string) => Effect.Effect<OperationRow, LocalEngineError>
  /** The operation as the cloud answers `GET /operations/{uuid}`, its duration counted to now. */
  readonly operation: (row: OperationRow) => Effect.Effect<Operation>
  readonly summaries: (filter: OperationFilter) => Effect.Effect<ReadonlyArray<OperationSummary>, LocalEngineError>
}>() {
  static readonly layer: Layer.Layer<OperationStore, never, SqlClient.SqlClient | EngineHost> = Layer.effect(
    OperationStore,
    Effect.gen(function*() {
      const records = makeOperationRecords(yield* SqlClient.SqlClient)
      const { owner } = yield* EngineHost
      return OperationStore.of({
        records,
        create: (kind, { image, metadata }) =>
          Effect.gen(function*() {
            const uuid = randomUUID()
            const createdAt = yield* Clock.currentTimeMillis
            yield* records.insert({
              uuid,
              kind,
              status: "PENDING",
              error: null,
              image,
              resultImage: null,
              metadata,
              owner,
              sandbox: null,
              createdAt,
              finishedAt: null
            })
            return uuid
          }).pipe(Effect.mapError(db)),
        require: (uuid) =>
          records.get(uuid).pipe(
            Effect.mapError(db),
            Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound("Operation not found")), onSome: Effect.succeed }))
          ),
        operation: (row) => Effect.map(Clock.currentTimeMillis, (now) => toOperation(row, now)),
        summaries: (filter) =>
          Effect.all([Effect.mapError(records.list(filter), db), Clock.currentTimeMillis]).pipe(
            Effect.map(([rows, now]) => rows.map((row) => toSummary(row, now)))
          )
      })
    })
  )
}
