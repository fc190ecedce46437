/** The cloud's event follower over a mock HTTP server: draining, the 404 that is about an operation, refusals. */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Logger, LogLevel, Option, Stream } from "effect"
import { ContreeClientLive } from "../../src/layers/ContreeClientLive.js"
import { OperationCompletionEvents } from "../../src/layers/OperationCompletionEvents.js"
import { ContreeConfig } from "../../src/services/ContreeConfig.js"
import { OperationCompletion } from "../../src/services/OperationCompletion.js"
import { RetryPolicy } from "../../src/services/RetryPolicy.js"
import { config, fastPolicy, json, mockHttp, type Reply } from "../support/http.js"

type Answer = (request: Parameters<Parameters<typeof mockHttp>[0]>[0], url: URL, n: number) => Reply

const sse = (...events: ReadonlyArray<{ id: number; type: string; data: unknown }>) =>
  new Response(events.map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e, spid: e.type === "completion" ? 0 : 1 })}\n\n`).join(""), {
    headers: { "content-type": "text/event-stream" }
  })
const out = (id: number, value: string) => ({ id, type: "stdout", data: { value, encoding: "ascii" } })
const done = { uuid: "op-1", kind: "instance", status: "SUCCESS", metadata: { command: "x", image: "i" } }

const harness = (answer: Answer) => {
  const http = mockHttp(answer)
  const base = Layer.mergeAll(http.layer, Layer.succeed(ContreeConfig, config()), Layer.succeed(RetryPolicy, fastPolicy()))
  const layer = OperationCompletionEvents.pipe(Layer.provideMerge(ContreeClientLive.pipe(Layer.provide(base))), Layer.provide(base))
  const seen = () => http.seen.map((s) => `${s.url.pathname}${s.url.search}${s.headers["last-event-id"] === undefined ? "" : ` after ${s.headers["last-event-id"]}`}`)
  return { layer, seen }
}

describe("OperationCompletionEvents", () => {
  it.live("a stream that ends without completion: the operation is probed, found terminal, and the retained log drained", () => {
    const h = harness((_, url) => {
      if (url.pathname === "/v1/operations/op-1") return json(done)
      return url.searchParams.has("follow") ? sse(out(1, "one\n")) : sse(out(2, "two\n"), { id: 3, type: "completion", data: { status: "SUCCESS", duration_ms: 5 } })
    })
    return Effect.gen(function*() {
      const completion = yield* OperationCompletion
      const output = yield* Effect.fork(Stream.runCollect(completion.output("op-1")))
      const op = yield* completion.awaitTerminal("op-1")
      assert.strictEqual(op.status, "SUCCESS")
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(output)).map((c) => c.text), ["one\n", "two\n"])
      assert.deepStrictEqual(h.seen(), [
        "/v1/operations/op-1/events?follow=1",
        "/v1/operations/op-1",
        "/v1/operations/op-1/events after 1",
        "/v1/operations/op-1"
      ])
    }).pipe(Effect.provide(h.layer))
  })

  it.live("a 404 about a missing operation does not turn events off for the client", () => {
    const h = harness((_, url) =>
      url.pathname.startsWith("/v1/operations/gone")
        ? json({ error: "Operation not found" }, 404)
        : url.pathname === "/v1/operations/op-1"
        ? json(done)
        : sse(out(1, "hi\n"), { id: 2, type: "completion", data: { status: "SUCCESS", duration_ms: 1 } })
    )
    return Effect.gen(function*() {
      const completion = yield* OperationCompletion
      assert.isTrue(Option.isNone(yield* completion.awaitTerminal("gone").pipe(Effect.timeout("200 millis"), Effect.option)))
      // The route exists: another operation is still followed to its completion.
      assert.strictEqual((yield* completion.awaitTerminal("op-1")).status, "SUCCESS")
      assert.deepStrictEqual(h.seen().filter((s) => s.includes("op-1")), ["/v1/operations/op-1/events?follow=1", "/v1/operations/op-1"])
    }).pipe(Effect.provide(h.layer))
  })

  it.live("a refusal other than 'no events' (403) leaves the wait to polling, and never fails it", () => {
    const h = harness(() => json({ error: "forbidden" }, 403))
    return Effect.gen(function*() {
      const completion = yield* OperationCompletion
      const result = yield* completion.awaitTerminal("op-1").pipe(Effect.timeout("200 millis"), Effect.either)
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") assert.strictEqual(result.left._tag, "TimeoutException")
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(completion.output("op-2"))), [])
    }).pipe(Effect.provide(h.layer), Logger.withMinimumLogLevel(LogLevel.None))
  })
})
