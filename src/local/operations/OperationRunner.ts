// Runs this engine's operations (PENDING → EXECUTING → an outcome), and cancels and awaits any operation of the state directory.
import { Context, Effect, Layer, Option, type Scope } from "effect"
import { isTerminal, type Operation } from "../../domain/Operation.js"
import { killSandboxElsewhere } from "../host/CrossProcessKill.js"
import { EngineHost } from "../host/EngineHost.js"
import type { LocalEngineError } from "../LocalEngineError.js"
import { databaseFailed } from "../store/LocalDatabase.js"
import { OperationStore } from "../store/OperationStore.js"
import { makeOperationQueue } from "./OperationQueue.js"
import { pollUntil } from "../host/Polling.js"

export class OperationRunner extends Context.Tag("contree/local/OperationRunner")<OperationRunner, {
  /**
   * Queues a recorded PENDING operation: once a slot is free it becomes EXECUTING and `execute`
   * records how it ended, or it is FAILED with `execute`'s error. `release` runs when the task
   * ends, whether it ran or not (cancelled while pending, shut down).
   */
  readonly submit: (
    id: string,
    metadata: Record<string, unknown>,
    execute: Effect.Effect<void, LocalEngineError, Scope.Scope>,
    release: Effect.Effect<void>
  ) => Effect.Effect<void>
  /** Tells waiters the operation's outcome is recorded; clean-up goes on without holding them up. */
  readonly settled: (id: string) => Effect.Effect<void>
  /** `false` when the operation had already ended. Returns once its sandbox is gone, whichever process ran it. */
  readonly cancel: (uuid: string) => Effect.Effect<boolean, LocalEngineError>
  /** The operation once it is terminal: woken at once when this process runs it, watched in the database otherwise. */
  readonly await: (uuid: string) => Effect.Effect<Operation, LocalEngineError>
}>() {
  /** Its queue's fibers are interrupted when the layer is released: this process's runs stop. */
  static readonly layer: Layer.Layer<OperationRunner, never, OperationStore | EngineHost> = Layer.scoped(
    OperationRunner,
    Effect.gen(function*() {
      const { owner, settings } = yield* EngineHost
      const operations = yield* OperationStore
      const { records } = operations
      const queue = yield* makeOperationQueue(settings.maxConcurrentRuns)
      const fromSql = Effect.mapError(databaseFailed)

      const task = (id: string, metadata: Record<string, unknown>, execute: Effect.Effect<void, LocalEngineError, Scope.Scope>) =>
        Effect.gen(function*() {
          if (!(yield* fromSql(records.start(id)))) return
          yield* Effect.scoped(execute).pipe(
            Effect.catchAll((error) => fromSql(records.finish(id, { status: "FAILED", error: error.message, metadata, resultImage: null })))
          )
        }).pipe(
          Effect.catchAll((error) => Effect.logError(`operation ${id} could not be recorded: ${error.message}`)),
          Effect.catchAllDefect((defect) =>
            Effect.logError(`operation ${id} failed unexpectedly`, defect).pipe(
              Effect.zipRight(records.abandon(id, `the local engine failed: ${String(defect)}`)),
              Effect.ignore
            )
          )
        )

      const cancel = (uuid: string) =>
        Effect.gen(function*() {
          const row = yield* operations.require(uuid)
          if (isTerminal(row.status) || !(yield* fromSql(records.cancel(uuid)))) return false
          if (row.owner === owner) {
            yield* queue.interrupt(uuid)
          } else {
            // Another server process runs it: the sandbox it recorded is what to kill.
            const sandbox = Option.flatMap(yield* fromSql(records.get(uuid)), (r) => Option.fromNullable(r.sandbox))
            if (Option.isSome(sandbox)) yield* killSandboxElsewhere(sandbox.value)
          }
          return true
        })

      const awaitOperation = (uuid: string) =>
        pollUntil(
          operations.require(uuid),
          (row) => isTerminal(row.status),
          // Runs of this process wake the caller when they end; others are watched in the database.
          Effect.suspend(() => Option.getOrElse(queue.whenDone(uuid), () => Effect.sleep("200 millis")))
        ).pipe(Effect.flatMap(operations.operation))

      return OperationRunner.of({
        submit: (id, metadata, execute, release) => queue.submit(id, task(id, metadata, execute), release),
        settled: queue.settle,
        cancel,
        await: awaitOperation
      })
    })
  )
}
