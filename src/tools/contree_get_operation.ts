import { Effect, Schema } from "effect"
import { OperationWaiter } from "../services/OperationWaiter.js"
import { OperationView, toOperationView } from "./OperationView.js"
import { OperationIdParam } from "./params.js"
import { defineTool } from "./Tool.js"

export const contreeGetOperation = defineTool({
  name: "contree_get_operation",
  title: "Get an operation",
  description: [
    "Current status and, once finished, the result of a run or import (same fields as contree_run). Free: no sandbox.",
    "To block until operations finish, use contree_wait_operations rather than calling this in a loop."
  ].join("\n"),
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({ operation_id: OperationIdParam }),
  output: OperationView,
  handler: Effect.fn("contree_get_operation")(function*({ operation_id }) {
    const waiter = yield* OperationWaiter
    return toOperationView(yield* waiter.get(operation_id))
  })
})
