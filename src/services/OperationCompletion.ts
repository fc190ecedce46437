import { Context, type Effect } from "effect"
import type { Operation } from "../domain/Operation.js"
import type { ContreeApiError } from "./ContreeError.js"

/**
 * Optional: a backend that can announce when an operation ends (the local engine) provides this,
 * and the waiter answers the moment it happens instead of at its next poll.
 */
export class OperationCompletion extends Context.Tag("contree/OperationCompletion")<OperationCompletion, {
  readonly awaitTerminal: (operationId: string) => Effect.Effect<Operation, ContreeApiError>
}>() {}
