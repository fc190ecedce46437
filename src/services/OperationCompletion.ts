import { Context, type Effect, type Stream } from "effect"
import type { Operation } from "../domain/Operation.js"
import type { ContreeApiError } from "./ContreeError.js"

/** Work done of an operation that can measure it (bytes an import has fetched, of `total`). */
export interface OperationProgress {
  readonly done: number
  readonly total: number
}

/**
 * Optional: a backend that can announce when an operation ends (the local engine) provides this,
 * and the waiter answers the moment it happens instead of at its next poll. It may also report
 * progress finer than a status, which the waiter relays to whoever waits.
 */
export class OperationCompletion extends Context.Tag("contree/OperationCompletion")<OperationCompletion, {
  readonly awaitTerminal: (operationId: string) => Effect.Effect<Operation, ContreeApiError>
  /** Progress while the operation runs; ends when it does, or at once when there is none to tell. */
  readonly progress: (operationId: string) => Stream.Stream<OperationProgress>
}>() {}
