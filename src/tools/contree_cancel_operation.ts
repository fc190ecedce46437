import { Effect, Schema } from "effect"
import { OperationStatus } from "../domain/Operation.js"
import { OperationWaiter } from "../services/OperationWaiter.js"
import { OperationIdParam } from "./params.js"
import { defineTool } from "./Tool.js"

export const contreeCancelOperation = defineTool({
  name: "contree_cancel_operation",
  title: "Cancel an operation",
  description:
    "Stop a pending or running run or import. A cancelled run saves no image. An operation that already ended is left as it is (cancelled=false).",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({ operation_id: OperationIdParam }),
  output: Schema.Struct({
    cancelled: Schema.Boolean,
    operation_id: Schema.String,
    status: OperationStatus.annotations({ description: "Status after the request; the server may take a moment to reach CANCELLED" })
  }),
  handler: Effect.fn("contree_cancel_operation")(function*({ operation_id }) {
    const waiter = yield* OperationWaiter
    const outcome = yield* waiter.cancel(operation_id)
    return { cancelled: outcome.cancelled, operation_id, status: outcome.operation.status }
  })
})
