import { Context, type Effect, type Stream } from "effect"
import type { Operation } from "../domain/Operation.js"
import type { ContreeApiError } from "./ContreeError.js"

/** Work done of an operation that can measure it (bytes an import has fetched, of `total`). */
export interface OperationProgress {
  readonly done: number
  readonly total: number
}

/** Output of a running operation's main process, as it is written: text (UTF-8, decoded across chunk boundaries). */
export interface OutputChunk {
  readonly stream: "stdout" | "stderr"
  readonly text: string
}

/**
 * Optional: a backend that can announce when an operation ends (the local engine; the cloud's
 * event stream, `OperationCompletionEvents`) provides this, and the waiter answers the moment it
 * happens instead of at its next poll. It may also report progress finer than a status, and the
 * output as it comes, which the waiter relays to whoever waits.
 */
export class OperationCompletion extends Context.Tag("contree/OperationCompletion")<OperationCompletion, {
  /** The operation once terminal. May never answer (a server without events): the waiter polls alongside. */
  readonly awaitTerminal: (operationId: string) => Effect.Effect<Operation, ContreeApiError>
  /** Progress while the operation runs; ends when it does, or at once when there is none to tell. */
  readonly progress: (operationId: string) => Stream.Stream<OperationProgress>
  /**
   * The output while the operation runs (earlier output first, for a late subscriber, as far as
   * the backend keeps it); ends when the operation does, or at once when the backend cannot tell.
   */
  readonly output: (operationId: string) => Stream.Stream<OutputChunk>
  /**
   * Optional: true while the backend's own feed follows the operation (the cloud's event stream);
   * the waiter's polling is then only a slow safety net. Absent: the waiter polls at its usual pace.
   */
  readonly following?: ((operationId: string) => Effect.Effect<boolean>) | undefined
}>() {}
