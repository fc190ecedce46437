import { Duration, Effect, Either, Schema } from "effect"
import { OperationWaiter } from "../services/OperationWaiter.js"
import { OperationView, toOperationView } from "./OperationView.js"
import { OperationIdParam, withDefault } from "./params.js"
import { defineTool } from "./Tool.js"
import { ToolContext } from "./ToolContext.js"
import { toToolError } from "./ToolError.js"

export const contreeWaitOperations = defineTool({
  name: "contree_wait_operations",
  title: "Wait for operations",
  description: [
    "Wait for several runs or imports started with wait=false, concurrently. Free: no sandbox.",
    "mode='all' waits for every one; mode='any' returns when the first finishes and cancels the rest.",
    "Operations still unfinished when `timeout` (seconds, for the whole call) runs out are cancelled and listed in `cancelled`, with timed_out=true.",
    "Each result has the same fields as contree_run's. Guide: contree://guide/async."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: Schema.Struct({
    operation_ids: Schema.Array(OperationIdParam).pipe(Schema.minItems(1), Schema.maxItems(100)).annotations({
      description: "Operation ids to wait for"
    }),
    timeout: withDefault(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(86_400)), 300, "Seconds to wait in total"),
    mode: withDefault(Schema.Literal("all", "any"), "all", "'all': wait for every operation; 'any': the first one")
  }),
  output: Schema.Struct({
    results: Schema.Record({ key: Schema.String, value: OperationView }),
    completed: Schema.Array(Schema.String).annotations({ description: "Ids in the order they finished" }),
    cancelled: Schema.Array(Schema.String).annotations({ description: "Ids cancelled because of the timeout or mode='any'" }),
    errors: Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
      description: "Ids whose status could not be read, with the reason"
    }),
    timed_out: Schema.Boolean
  }),
  handler: Effect.fn("contree_wait_operations")(function*(input) {
    const waiter = yield* OperationWaiter
    const context = yield* ToolContext
    const ids = [...new Set(input.operation_ids)]
    const results: Record<string, OperationView> = {}
    const errors: Record<string, string> = {}
    const completed: Array<string> = []

    const waitOne = (id: string) =>
      waiter.wait(id).pipe(
        Effect.either,
        Effect.tap((outcome) =>
          Effect.suspend(() => {
            completed.push(id)
            if (Either.isRight(outcome)) results[id] = toOperationView(outcome.right)
            else errors[id] = toToolError(outcome.left).message
            return context.progress(completed.length, ids.length, `${completed.length} of ${ids.length} finished`)
          })
        )
      )

    // Interrupting a wait (the timeout, or losing the `any` race) cancels its operation on the server.
    const waitAll = input.mode === "all"
      ? Effect.forEach(ids, waitOne, { concurrency: "unbounded", discard: true })
      : Effect.asVoid(Effect.raceAll(ids.map(waitOne)))
    const finished = yield* waitAll.pipe(Effect.timeout(Duration.seconds(input.timeout)), Effect.option)

    return {
      results,
      completed,
      cancelled: ids.filter((id) => !completed.includes(id)),
      errors,
      timed_out: finished._tag === "None"
    }
  })
})
