import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Scope, Stream, TestClock } from "effect"
import { type Operation, Operation as OperationSchema } from "../../src/domain/Operation.js"
import { ContreeCacheSqlite } from "../../src/layers/ContreeCacheSqlite.js"
import { OperationWaiterLive, OperationWaiterNotified } from "../../src/layers/OperationWaiterLive.js"
import { ContreeCache } from "../../src/services/ContreeCache.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeApiError } from "../../src/services/ContreeError.js"
import { lineageOf } from "../../src/services/ImageLineage.js"
import { OperationCompletion, type OperationProgress, type OutputChunk } from "../../src/services/OperationCompletion.js"
import { OperationWaiter, type WaitOptions } from "../../src/services/OperationWaiter.js"
import { defaultRetryPolicy, RetryPolicy } from "../../src/services/RetryPolicy.js"
import { driveToEnd, settle, until } from "../support/clock.js"
import { CHILD, finishedRun, IMAGE, operation } from "../support/fixtures.js"

const running = (uuid: string) => operation({ uuid, status: "EXECUTING", metadata: { command: "sleep 1000", image: IMAGE } })

type Answer = Operation | Effect.Effect<Operation, ContreeApiError>

/** A mock API: `answer(id, n)` gives the n-th (1-based) status of `id`; every call is recorded. */
const makeApi = (answer: (id: string, n: number) => Answer) => {
  const state = { gets: [] as Array<string>, cancels: [] as Array<string>, inFlight: 0, maxInFlight: 0 }
  const layer = Layer.mock(ContreeClient, {
    getOperation: (id) =>
      Effect.suspend(() => {
        state.gets.push(id)
        state.inFlight++
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
        const a = answer(id, state.gets.filter((g) => g === id).length)
        return (Effect.isEffect(a) ? a : Effect.succeed(a)).pipe(Effect.ensuring(Effect.sync(() => state.inFlight--)))
      }),
    cancelOperation: (id) => Effect.sync(() => (state.cancels.push(id), true))
  })
  return { state, layer }
}

const policy = (pollConcurrency = 8) =>
  Layer.succeed(RetryPolicy, { ...defaultRetryPolicy, poll: Schedule.spaced("1 second"), pollConcurrency })

/** The live waiter over the mock API and a real in-memory SQLite cache (both also exposed). */
const waiterLayer = (api: Layer.Layer<ContreeClient>, pollConcurrency = 8) =>
  OperationWaiterLive.pipe(
    Layer.provideMerge(Layer.mergeAll(api, ContreeCacheSqlite(":memory:"))),
    Layer.provide(policy(pollConcurrency)),
    Layer.orDie
  )

const getsOf = (gets: ReadonlyArray<string>, id: string) => gets.filter((g) => g === id).length

describe("OperationWaiterLive", () => {
  it.effect("serves many concurrent waits on one operation with a single poller, which stops at a terminal status", () => {
    const api = makeApi((id, n) => n < 3 ? running(id) : finishedRun({ uuid: id }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const all = yield* Effect.fork(Effect.all(Array.from({ length: 10 }, () => waiter.wait("op-1")), { concurrency: "unbounded" }))
      const ops = yield* driveToEnd(all)
      assert.deepStrictEqual(ops.map((op) => op.status), Array(10).fill("SUCCESS"))
      assert.strictEqual(api.state.gets.length, 3)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(api.state.gets.length, 3, "polling went on after a terminal status")
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  /**
   * A backend announcing completion that tells `feeds` (work, output) while a run is held open: the
   * wait is released once `count` of them reached its listener (registered with `options(seen)`).
   */
  const relayed = <A>(
    feeds: { readonly progress?: Stream.Stream<OperationProgress>; readonly output?: Stream.Stream<OutputChunk> },
    options: (seen: Array<A>) => WaitOptions,
    count: number
  ) => {
    const api = makeApi((id) => running(id))
    return Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const completion = Layer.succeed(OperationCompletion, {
        awaitTerminal: (id) => Deferred.await(gate).pipe(Effect.as(finishedRun({ uuid: id }))),
        progress: () => feeds.progress ?? Stream.empty,
        output: () => feeds.output ?? Stream.empty
      })
      const seen: Array<A> = []
      const result = yield* Effect.gen(function*() {
        const waiter = yield* OperationWaiter
        const fiber = yield* Effect.fork(waiter.wait("op-1", options(seen)))
        yield* until(() => seen.length === count)
        yield* Deferred.succeed(gate, undefined)
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(OperationWaiterNotified.pipe(
        Layer.provideMerge(Layer.mergeAll(api.layer, ContreeCacheSqlite(":memory:"), completion)),
        Layer.provide(policy()),
        Layer.orDie
      )))
      return { seen, result }
    })
  }

  it.effect("relays the work a completion-announcing backend reports to onWork, until the operation ends", () =>
    Effect.gen(function*() {
      const { result, seen } = yield* relayed<number>(
        { progress: Stream.make({ done: 1, total: 4 }, { done: 4, total: 4 }) },
        (seen) => ({ onWork: (work) => Effect.sync(() => void seen.push(work.done)) }),
        2
      )
      assert.deepStrictEqual(seen, [1, 4])
      assert.strictEqual(result.status, "SUCCESS")
    }))

  it.effect("relays the output a backend publishes to onOutput, until the operation ends", () =>
    Effect.gen(function*() {
      const { result, seen } = yield* relayed<string>(
        { output: Stream.make({ stream: "stdout" as const, text: "one\n" }, { stream: "stderr" as const, text: "two\n" }) },
        (seen) => ({ onOutput: (chunk) => Effect.sync(() => void seen.push(`${chunk.stream}:${chunk.text}`)) }),
        2
      )
      assert.deepStrictEqual(seen, ["stdout:one\n", "stderr:two\n"])
      assert.strictEqual(result.status, "SUCCESS")
    }))

  it.effect("polls only as a slow safety net while the backend's feed follows the operation (the cloud's events)", () => {
    const api = makeApi((id) => running(id))
    let following = true
    const completion = Layer.succeed(OperationCompletion, {
      awaitTerminal: () => Effect.never,
      progress: () => Stream.empty,
      output: () => Stream.empty,
      following: () => Effect.sync(() => following)
    })
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const fiber = yield* Effect.fork(waiter.wait("op-1"))
      yield* settle()
      // The usual pace (policy(): every second) would have polled 5 times by now.
      for (let i = 0; i < 4; i++) yield* TestClock.adjust("1 second").pipe(Effect.zipRight(settle()))
      assert.strictEqual(getsOf(api.state.gets, "op-1"), 1)
      yield* TestClock.adjust("3 seconds").pipe(Effect.zipRight(settle()))
      assert.strictEqual(getsOf(api.state.gets, "op-1"), 2)
      following = false
      // The safety-net sleep already begun ends; then the usual pace again.
      for (let i = 0; i < 6; i++) yield* TestClock.adjust("1 second").pipe(Effect.zipRight(settle()))
      const polled = getsOf(api.state.gets, "op-1")
      for (let i = 0; i < 3; i++) yield* TestClock.adjust("1 second").pipe(Effect.zipRight(settle()))
      assert.strictEqual(getsOf(api.state.gets, "op-1"), polled + 3)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(OperationWaiterNotified.pipe(
      Layer.provideMerge(Layer.mergeAll(api.layer, ContreeCacheSqlite(":memory:"), completion)),
      Layer.provide(policy()),
      Layer.orDie
    )))
  })

  it.effect("reports each status seen to onProgress", () => {
    const api = makeApi((id, n) => n < 3 ? running(id) : finishedRun({ uuid: id }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const seen: Array<string> = []
      const op = yield* driveToEnd(
        yield* Effect.fork(waiter.wait("op-1", { onProgress: (current) => Effect.sync(() => seen.push(current.status)) }))
      )
      assert.strictEqual(op.status, "SUCCESS")
      assert.deepStrictEqual(seen, ["EXECUTING", "EXECUTING", "SUCCESS"])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("caches a terminal operation: later waits and gets make no request", () => {
    const api = makeApi((id) => finishedRun({ uuid: id, stdout: "done\n" }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const cache = yield* ContreeCache
      yield* waiter.wait("op-1")
      assert.strictEqual(api.state.gets.length, 1)
      const cached = yield* cache.get("operation", "op-1")
      assert.isTrue(Option.isSome(cached))
      const again = yield* waiter.get("op-1")
      const waited = yield* waiter.wait("op-1")
      assert.strictEqual(api.state.gets.length, 1)
      assert.strictEqual(again.instance?.result?.stdout.value, "done\n")
      assert.strictEqual(waited.status, "SUCCESS")
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("never serves a non-terminal operation from the cache", () => {
    const api = makeApi((id, n) => n < 3 ? running(id) : finishedRun({ uuid: id }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const cache = yield* ContreeCache
      assert.strictEqual((yield* waiter.get("op-1")).status, "EXECUTING")
      assert.strictEqual((yield* waiter.get("op-1")).status, "EXECUTING")
      assert.strictEqual(api.state.gets.length, 2)
      assert.isTrue(Option.isNone(yield* cache.get("operation", "op-1")))

      // A cache written by another server (the reference one stores every poll) may hold stale statuses.
      yield* cache.put("operation", "op-2", Schema.encodeSync(OperationSchema)(running("op-2")))
      assert.strictEqual((yield* waiter.get("op-2")).status, "EXECUTING")
      assert.strictEqual(getsOf(api.state.gets, "op-2"), 1)
      const op = yield* driveToEnd(yield* Effect.fork(waiter.wait("op-2")))
      assert.strictEqual(op.status, "SUCCESS")
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("a wait that times out fails with WaitTimeout and cancels the operation", () => {
    const api = makeApi((id) => running(id))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const fiber = yield* Effect.fork(Effect.flip(waiter.wait("op-1", { timeout: Duration.seconds(5) })))
      yield* TestClock.adjust("4999 millis")
      assert.isNull(fiber.unsafePoll())
      assert.deepStrictEqual(api.state.cancels, [])
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "WaitTimeout")
      assert.include(error.message, "op-1")
      assert.deepStrictEqual(api.state.cancels, ["op-1"])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("interrupting a waiting fiber cancels the operation", () => {
    const api = makeApi((id) => running(id))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const fiber = yield* Effect.fork(waiter.wait("op-1"))
      yield* TestClock.adjust("3 seconds")
      assert.isAbove(api.state.gets.length, 0)
      assert.deepStrictEqual(api.state.cancels, [])
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(api.state.cancels, ["op-1"])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("one caller giving up does not cancel an operation another caller still waits on", () => {
    const api = makeApi((id) => running(id))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const first = yield* Effect.fork(waiter.wait("op-1"))
      const second = yield* Effect.fork(waiter.wait("op-1"))
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.interrupt(first)
      assert.deepStrictEqual(api.state.cancels, [])
      yield* Fiber.interrupt(second)
      assert.deepStrictEqual(api.state.cancels, ["op-1"])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("passes a polling error to the waiters, and a later wait polls afresh", () => {
    const api = makeApi((id, n) =>
      n === 1
        ? Effect.fail(new ContreeApiError({ reason: "Server", message: "boom", method: "GET", path: `/operations/${id}`, status: 500 }))
        : finishedRun({ uuid: id })
    )
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const error = yield* Effect.flip(waiter.wait("op-1"))
      assert.strictEqual(error._tag, "ContreeApiError")
      assert.strictEqual((yield* waiter.wait("op-1")).status, "SUCCESS")
      assert.strictEqual(api.state.gets.length, 2)
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("caps status requests in flight at pollConcurrency", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const api = makeApi((id) => Deferred.await(gate).pipe(Effect.as(finishedRun({ uuid: id }))))
      yield* Effect.gen(function*() {
        const waiter = yield* OperationWaiter
        const all = yield* Effect.fork(Effect.all(["a", "b", "c", "d"].map((id) => waiter.wait(id)), { concurrency: "unbounded" }))
        yield* until(() => api.state.inFlight === 2)
        yield* settle()
        assert.strictEqual(api.state.inFlight, 2)
        assert.strictEqual(api.state.gets.length, 2)
        yield* Deferred.succeed(gate, undefined)
        const ops = yield* Fiber.join(all)
        assert.deepStrictEqual(ops.map((op) => op.uuid), ["a", "b", "c", "d"])
        assert.strictEqual(api.state.gets.length, 4)
        assert.strictEqual(api.state.maxInFlight, 2)
      }).pipe(Effect.provide(waiterLayer(api.layer, 2)))
    }))

  it.effect("a finished operation never waits for a slot held by others", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const api = makeApi((id) => id === "slow" ? Deferred.await(gate).pipe(Effect.as(running(id))) : finishedRun({ uuid: id }))
      yield* Effect.gen(function*() {
        const waiter = yield* OperationWaiter
        const cache = yield* ContreeCache
        yield* cache.put("operation", "cached", Schema.encodeSync(OperationSchema)(finishedRun({ uuid: "cached" })))
        const slow = yield* Effect.fork(waiter.wait("slow"))
        yield* until(() => api.state.inFlight === 1)
        // The only slot is taken by a request that does not return.
        assert.strictEqual((yield* waiter.wait("cached")).status, "SUCCESS")
        assert.strictEqual((yield* waiter.get("cached")).status, "SUCCESS")
        assert.strictEqual(getsOf(api.state.gets, "cached"), 0)
        yield* Fiber.interrupt(slow)
      }).pipe(Effect.provide(waiterLayer(api.layer, 1)))
    }))

  it.effect("an operation that ends is answered while another is still being followed, with one slot", () => {
    const api = makeApi((id) => id === "long" ? running(id) : finishedRun({ uuid: id }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const long = yield* Effect.fork(waiter.wait("long"))
      yield* TestClock.adjust("2 seconds")
      const quick = yield* driveToEnd(yield* Effect.fork(waiter.wait("quick")))
      assert.strictEqual(quick.status, "SUCCESS")
      assert.isNull(long.unsafePoll())
      assert.isAbove(getsOf(api.state.gets, "long"), 1)
      yield* Fiber.interrupt(long)
    }).pipe(Effect.provide(waiterLayer(api.layer, 1)))
  })

  it.effect("records lineage for a successful run that saved a new image", () => {
    const api = makeApi((id) => finishedRun({ uuid: id, image: IMAGE, command: "pip install x", resultImage: CHILD }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      yield* waiter.wait("op-1")
      const lineage = yield* lineageOf(CHILD)
      assert.isTrue(lineage.is_known)
      assert.strictEqual(lineage.parent, IMAGE)
      assert.deepStrictEqual(lineage.ancestors, [IMAGE])
      assert.strictEqual(lineage.root, IMAGE)
      assert.strictEqual(lineage.depth, 1)
      assert.deepStrictEqual(lineage.data, { parent_image: IMAGE, operation_id: "op-1", command: "pip install x" })
      assert.deepStrictEqual((yield* lineageOf(IMAGE)).children, [CHILD])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("records lineage for an import", () => {
    const api = makeApi((id) =>
      operation({
        uuid: id,
        kind: "image_import",
        status: "SUCCESS",
        metadata: { registry: { url: "docker://docker.io/library/alpine:3" }, tag: "alpine:3" },
        result: { image: CHILD, tag: "alpine:3" }
      })
    )
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      yield* waiter.wait("imp-1")
      const lineage = yield* lineageOf(CHILD)
      assert.isTrue(lineage.is_known)
      assert.isNull(lineage.parent)
      assert.strictEqual(lineage.root, CHILD)
      assert.deepStrictEqual(lineage.data, {
        operation_id: "imp-1",
        registry_url: "docker://docker.io/library/alpine:3",
        tag: "alpine:3",
        is_import: true
      })
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("records no lineage for a failed run or one that saved nothing new", () => {
    const api = makeApi((id) =>
      id === "failed"
        ? finishedRun({ uuid: id, status: "FAILED", resultImage: CHILD })
        : finishedRun({ uuid: id, image: IMAGE, resultImage: IMAGE })
    )
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      yield* waiter.wait("failed")
      yield* waiter.wait("same")
      assert.isFalse((yield* lineageOf(CHILD)).is_known)
      assert.isFalse((yield* lineageOf(IMAGE)).is_known)
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("track follows an operation nobody waits for, so its lineage is still recorded", () => {
    const api = makeApi((id, n) => n < 2 ? running(id) : finishedRun({ uuid: id, resultImage: CHILD }))
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      yield* waiter.track("op-1")
      yield* TestClock.adjust("1 second")
      yield* until(() => api.state.gets.length === 2)
      yield* settle()
      assert.isTrue((yield* lineageOf(CHILD)).is_known)
      assert.deepStrictEqual(api.state.cancels, [])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("cancel: a running operation gets a DELETE; an ended one is left alone", () => {
    const api = makeApi((id, n) =>
      id === "done" ? finishedRun({ uuid: id }) : n === 1 ? running(id) : operation({ uuid: id, status: "CANCELLED" })
    )
    return Effect.gen(function*() {
      const waiter = yield* OperationWaiter
      const cancelled = yield* waiter.cancel("op-1")
      assert.isTrue(cancelled.cancelled)
      assert.strictEqual(cancelled.operation.status, "CANCELLED")
      const done = yield* waiter.cancel("done")
      assert.isFalse(done.cancelled)
      assert.strictEqual(done.operation.status, "SUCCESS")
      assert.deepStrictEqual(api.state.cancels, ["op-1"])
    }).pipe(Effect.provide(waiterLayer(api.layer)))
  })

  it.effect("at shutdown, cancels the operations still being waited on, and only those", () =>
    Effect.gen(function*() {
      const api = makeApi((id) => id === "done" ? finishedRun({ uuid: id }) : running(id))
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(waiterLayer(api.layer), scope)
      const waiter = Context.get(context, OperationWaiter)
      yield* waiter.wait("done")
      const pending = yield* Effect.fork(waiter.wait("op-1"))
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(api.state.cancels, [])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(api.state.cancels, ["op-1"])
      yield* Fiber.interrupt(pending)
    }))
})
