import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { guideSectionNames } from "../../src/content/guides.js"
import { OperationSummary } from "../../src/domain/Operation.js"
import { ContreeClient, type ListOperationsQuery } from "../../src/services/ContreeClient.js"
import { OperationWaiter } from "../../src/services/OperationWaiter.js"
import { contreeCancelOperation } from "../../src/tools/contree_cancel_operation.js"
import { contreeGetGuide } from "../../src/tools/contree_get_guide.js"
import { contreeGetOperation } from "../../src/tools/contree_get_operation.js"
import { contreeListOperations } from "../../src/tools/contree_list_operations.js"
import { contreeWaitOperations } from "../../src/tools/contree_wait_operations.js"
import { finishedRun, IMAGE, operation } from "../support/fixtures.js"
import { apiError, call, callFails, type Progress, toolServices } from "../support/tools.js"

/**
 * A waiter whose operations finish after `delays[id]` seconds (never when absent), fail when
 * listed in `failures`, and record being interrupted (the live waiter cancels them then).
 */
const waiterHarness = (delays: Readonly<Record<string, number>>, failures: ReadonlyArray<string> = []) => {
  const state = { waited: [] as Array<string>, interrupted: [] as Array<string>, progress: [] as Array<Progress> }
  const waiter = Layer.mock(OperationWaiter, {
    wait: (id) =>
      Effect.suspend(() => {
        state.waited.push(id)
        const delay = delays[id]
        const outcome = failures.includes(id)
          ? Effect.fail(apiError("Server", `polling ${id} failed`, 500))
          : Effect.succeed(finishedRun({ uuid: id, stdout: `${id} out` }))
        return (delay === undefined ? Effect.never : Effect.sleep(`${delay} seconds`)).pipe(
          Effect.zipRight(outcome),
          Effect.onInterrupt(() => Effect.sync(() => void state.interrupted.push(id)))
        )
      })
  })
  return { state, layer: toolServices({ waiter, progress: state.progress }) }
}

/** Operation ids as the API makes them (UUIDs), named for the tests. */
const opId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`
const [a, b, c, slow, fast, quick, x, y, ok, broken, op1, ended, nope] = [opId(1), opId(2), opId(3), opId(4), opId(5), opId(6), opId(7), opId(8), opId(9), opId(10), opId(11), opId(12), opId(13)]

describe("contree_wait_operations", () => {
  it.effect("mode all waits for every operation and lists them in the order they finished", () => {
    const h = waiterHarness({ [a]: 3, [b]: 1, [c]: 2 })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(contreeWaitOperations, { operation_ids: [a, b, c, a] }))
      yield* TestClock.adjust("3 seconds")
      const out = yield* Fiber.join(fiber)
      assert.deepStrictEqual(out["completed"], [b, c, a])
      assert.deepStrictEqual(out["cancelled"], [])
      assert.deepStrictEqual(out["errors"], {})
      assert.isFalse(out["timed_out"])
      const results = out["results"] as Record<string, { status: string; stdout: string }>
      assert.deepStrictEqual(Object.keys(results).sort(), [a, b, c])
      assert.strictEqual(results[a]?.stdout, `${a} out`)
      assert.strictEqual(results[b]?.status, "SUCCESS")
      assert.deepStrictEqual(h.state.waited.sort(), [a, b, c])
      assert.deepStrictEqual(h.state.progress.map((p) => [p.progress, p.total]), [[1, 3], [2, 3], [3, 3]])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("mode any returns with the first to finish and cancels the rest", () => {
    const h = waiterHarness({ [fast]: 1 })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(contreeWaitOperations, { operation_ids: [slow, fast], mode: "any" }))
      yield* TestClock.adjust("1 second")
      const out = yield* Fiber.join(fiber)
      assert.deepStrictEqual(out["completed"], [fast])
      assert.deepStrictEqual(out["cancelled"], [slow])
      assert.deepStrictEqual(Object.keys(out["results"] as object), [fast])
      assert.isFalse(out["timed_out"])
      assert.deepStrictEqual(h.state.interrupted, [slow])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("on timeout, returns what finished and cancels the rest", () => {
    const h = waiterHarness({ [quick]: 1 })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(contreeWaitOperations, { operation_ids: [quick, x, y], timeout: 5 }))
      yield* TestClock.adjust("4999 millis")
      assert.isNull(fiber.unsafePoll())
      assert.deepStrictEqual(h.state.interrupted, [])
      yield* TestClock.adjust("1 millis")
      const out = yield* Fiber.join(fiber)
      assert.isTrue(out["timed_out"])
      assert.deepStrictEqual(out["completed"], [quick])
      assert.deepStrictEqual(out["cancelled"], [x, y])
      assert.sameMembers(h.state.interrupted, [x, y])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("waits 300 seconds by default", () => {
    const h = waiterHarness({})
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(contreeWaitOperations, { operation_ids: [x] }))
      yield* TestClock.adjust("299 seconds")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 second")
      assert.isTrue((yield* Fiber.join(fiber))["timed_out"])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("reports an operation whose status cannot be read under errors, and still waits for the others", () => {
    const h = waiterHarness({ [ok]: 2, [broken]: 1 }, [broken])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(contreeWaitOperations, { operation_ids: [ok, broken] }))
      yield* TestClock.adjust("2 seconds")
      const out = yield* Fiber.join(fiber)
      assert.deepStrictEqual(out["completed"], [broken, ok])
      assert.deepStrictEqual(Object.keys(out["results"] as object), [ok])
      const errors = out["errors"] as Record<string, string>
      assert.include(errors[broken] ?? "", `polling ${broken} failed`)
      assert.isFalse(out["timed_out"])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("validates its arguments", () => {
    const h = waiterHarness({})
    return Effect.gen(function*() {
      for (
        const [args, field] of [
          [{ operation_ids: [] }, "operation_ids"],
          [{ operation_ids: [""] }, "operation_ids"],
          [{ operation_ids: [a], mode: "some" }, "mode"],
          [{ operation_ids: [a], timeout: 0 }, "timeout"],
          [{ operation_ids: [a], timeout: 100_000 }, "timeout"]
        ] as const
      ) {
        const error = yield* callFails(contreeWaitOperations, args)
        assert.strictEqual(error.reason, "InvalidInput")
        assert.include(error.message, field)
      }
      assert.deepStrictEqual(h.state.waited, [])
    }).pipe(Effect.provide(h.layer))
  })
})

describe("contree_cancel_operation", () => {
  it.effect("cancels through the waiter and reports the status", () => {
    const cancelled: Array<string> = []
    const waiter = Layer.mock(OperationWaiter, {
      cancel: (id) =>
        Effect.sync(() => {
          cancelled.push(id)
          return id === ended
            ? { cancelled: false, operation: finishedRun({ uuid: id }) }
            : { cancelled: true, operation: operation({ uuid: id, status: "CANCELLED" }) }
        })
    })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* call(contreeCancelOperation, { operation_id: op1 }), {
        cancelled: true,
        operation_id: op1,
        status: "CANCELLED"
      })
      assert.deepStrictEqual(yield* call(contreeCancelOperation, { operation_id: ended }), {
        cancelled: false,
        operation_id: ended,
        status: "SUCCESS"
      })
      assert.deepStrictEqual(cancelled, [op1, ended])
    }).pipe(Effect.provide(toolServices({ waiter })))
  })

  it.effect("an unknown operation is NotFound", () =>
    Effect.gen(function*() {
      const error = yield* callFails(contreeCancelOperation, { operation_id: nope })
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "operation not found")
    }).pipe(Effect.provide(toolServices({
      waiter: Layer.mock(OperationWaiter, { cancel: () => Effect.fail(apiError("NotFound", "operation not found", 404)) })
    }))))
})

describe("contree_get_operation", () => {
  it.effect("returns the flat view of the current state", () =>
    Effect.gen(function*() {
      const out = yield* call(contreeGetOperation, { operation_id: op1 })
      assert.strictEqual(out["status"], "FAILED")
      assert.strictEqual(out["error"], "out of memory")
      assert.strictEqual(out["exit_code"], 137)
    }).pipe(Effect.provide(toolServices({
      waiter: Layer.mock(OperationWaiter, {
        get: (id) =>
          Effect.sync(() =>
            operation({
              uuid: id,
              status: "FAILED",
              error: "out of memory",
              metadata: { command: x, image: IMAGE, result: { state: { exit_code: 137 } } }
            })
          )
      })
    }))))
})

describe("contree_list_operations", () => {
  it.effect("lists summaries, passing the filters (type becomes kind)", () => {
    const queries: Array<ListOperationsQuery> = []
    const client = Layer.mock(ContreeClient, {
      listOperations: (q) =>
        Effect.sync(() => (queries.push(q), [
          new OperationSummary({ uuid: "op-1", kind: "instance", status: "SUCCESS", error: null, created_at: 1_700_000_000 })
        ]))
    })
    return Effect.gen(function*() {
      const out = yield* call(contreeListOperations, { limit: 5, status: "SUCCESS", type: "image_import", since: "1h" })
      assert.deepStrictEqual(out, {
        operations: [{ uuid: "op-1", kind: "instance", status: "SUCCESS", error: null, created_at: 1_700_000_000 }]
      })
      assert.deepStrictEqual(queries, [{ limit: 5, offset: 0, status: "SUCCESS", kind: "image_import", since: "1h" }])
      const error = yield* callFails(contreeListOperations, { status: "RUNNING" })
      assert.include(error.message, "status")
    }).pipe(Effect.provide(toolServices({ client })))
  })
})

describe("contree_get_guide", () => {
  it.effect("returns each section with the list of sections", () =>
    Effect.gen(function*() {
      for (const section of guideSectionNames) {
        const out = yield* call(contreeGetGuide, { section })
        assert.strictEqual(out["section"], section)
        assert.isAbove((out["content"] as string).length, 100)
        assert.deepStrictEqual(out["available_sections"], [...guideSectionNames])
      }
    }).pipe(Effect.provide(toolServices())))

  it.effect("an unknown section names the available ones", () =>
    Effect.gen(function*() {
      const error = yield* callFails(contreeGetGuide, { section: "nope" })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.strictEqual(error.message, `Unknown guide section 'nope'. Available sections: ${guideSectionNames.join(", ")}`)
    }).pipe(Effect.provide(toolServices())))
})
