import { Context, type Duration, type Effect, Schema } from "effect"
import type { Operation } from "../domain/Operation.js"
import type { ContreeApiError } from "./ContreeError.js"
import type { OperationProgress, OutputChunk } from "./OperationCompletion.js"

/** A wait that ran out of time. The operation was cancelled on the server before this was raised. */
export class WaitTimeout extends Schema.TaggedError<WaitTimeout>()("WaitTimeout", {
  operationId: Schema.String,
  message: Schema.String
}) {}

export interface WaitOptions {
  /** Give up after this long, cancelling the operation. Unbounded when absent. */
  readonly timeout?: Duration.Duration | undefined
  /** Called with each status seen while waiting (for MCP progress notifications). */
  readonly onProgress?: ((operation: Operation) => Effect.Effect<void>) | undefined
  /** Called with the work done, for operations whose backend measures it (local imports: bytes fetched). */
  readonly onWork?: ((progress: OperationProgress) => Effect.Effect<void>) | undefined
  /** Called with the output as it comes, for backends that publish it (the cloud's event stream). */
  readonly onOutput?: ((chunk: OutputChunk) => Effect.Effect<void>) | undefined
}

export interface CancelOutcome {
  /** True when this call (or an earlier one) cancelled it; false when it had already ended otherwise. */
  readonly cancelled: boolean
  readonly operation: Operation
}

/**
 * Tracks ConTree operations until they end. One poller per operation serves every caller that
 * waits on it; a wait that is interrupted or times out cancels the operation on the server; at
 * shutdown, operations still being waited on are cancelled.
 */
export class OperationWaiter extends Context.Tag("contree/OperationWaiter")<OperationWaiter, {
  /** Starts following an operation this server created, so its lineage is recorded even if nobody waits. */
  readonly track: (operationId: string) => Effect.Effect<void>
  readonly wait: (operationId: string, options?: WaitOptions) => Effect.Effect<Operation, ContreeApiError | WaitTimeout>
  /** The current state: from the cache only once terminal, otherwise fresh from the API. */
  readonly get: (operationId: string) => Effect.Effect<Operation, ContreeApiError>
  readonly cancel: (operationId: string) => Effect.Effect<CancelOutcome, ContreeApiError>
}>() {}
