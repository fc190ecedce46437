import { Effect, Schema } from "effect"
import { OperationKind, OperationStatus, OperationSummary } from "../domain/Operation.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { optionalParam, withDefault } from "./params.js"
import { defineTool } from "./Tool.js"

export const contreeListOperations = defineTool({
  name: "contree_list_operations",
  title: "List operations",
  description: "List recent runs and imports, newest first, optionally filtered by status or type. Free: no sandbox.",
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({
    limit: withDefault(Schema.Int.pipe(Schema.between(1, 1000)), 100, "Maximum number of operations"),
    status: optionalParam(OperationStatus, "Only operations in this status"),
    type: optionalParam(Schema.Literal("instance", "image_import"), "Only runs (instance) or imports (image_import)"),
    since: optionalParam(Schema.String, "Only operations created after this: ISO-8601 or a relative age such as '1h'")
  }),
  output: Schema.Struct({
    operations: Schema.Array(Schema.Struct({
      uuid: Schema.String,
      kind: OperationKind,
      status: OperationStatus,
      error: Schema.NullOr(Schema.String),
      created_at: OperationSummary.fields.created_at
    }))
  }),
  handler: Effect.fn("contree_list_operations")(function*(input) {
    const client = yield* ContreeClient
    const operations = yield* client.listOperations({
      limit: input.limit,
      offset: 0,
      status: input.status,
      kind: input.type,
      since: input.since || undefined
    })
    return {
      operations: operations.map((op) => ({
        uuid: op.uuid,
        kind: op.kind,
        status: op.status,
        error: op.error,
        created_at: op.created_at
      }))
    }
  })
})
