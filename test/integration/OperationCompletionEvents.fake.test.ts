/** The cloud's event follower against the fake API over real HTTP: output as it comes, resume, 425, fallback. */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Option, Redacted, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ContreeClientLive } from "../../src/layers/ContreeClientLive.js"
import { OperationCompletionEvents } from "../../src/layers/OperationCompletionEvents.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeConfig } from "../../src/services/ContreeConfig.js"
import { OperationCompletion } from "../../src/services/OperationCompletion.js"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { spawnRequest } from "../support/fixtures.js"
import { config } from "../support/http.js"

let current: FakeContreeApi
let legacy: FakeContreeApi
beforeAll(async () => {
  current = await startFakeContreeApi({ generation: "current", pendingMs: 30, executingMs: 10, keepaliveMs: 20 })
  legacy = await startFakeContreeApi({ generation: "legacy", pendingMs: 10, executingMs: 10 })
})
afterAll(async () => {
  await Promise.all([current.close(), legacy.close()])
})

const layer = (fake: FakeContreeApi) => {
  const base = Layer.mergeAll(
    FetchHttpClient.layer,
    Layer.succeed(ContreeConfig, config({ url: fake.url, token: Option.some(Redacted.make(fake.token)) }))
  )
  const client = ContreeClientLive.pipe(Layer.provide(base))
  return OperationCompletionEvents.pipe(Layer.provideMerge(client), Layer.provideMerge(base))
}



const run = (command: string) =>
  Effect.flatMap(ContreeClient, (c) => c.spawnInstance(spawnRequest("tag:busybox:latest", command)))

/** Waits through the completion and collects the output the follower published. */
const follow = (command: string) =>
  Effect.gen(function*() {
    const completion = yield* OperationCompletion
    const id = yield* run(command)
    const output = yield* Effect.fork(Stream.runCollect(completion.output(id)))
    const op = yield* completion.awaitTerminal(id)
    const chunks = Chunk.toReadonlyArray(yield* Fiber.join(output))
    return { id, op, chunks }
  })

const eventRequests = (fake: FakeContreeApi, id: string) => fake.requests.filter((r) => r.path === `/v1/operations/${id}/events`)

describe("OperationCompletionEvents", () => {
  it.live("answers at completion with the operation, and publishes stdout and stderr as they are written (425 before ready absorbed)", () =>
    Effect.gen(function*() {
      const { id, op, chunks } = yield* follow("echo one; sleep 0.1; echo two >&2; echo three")
      assert.strictEqual(op.status, "SUCCESS")
      assert.deepStrictEqual(chunks, [{ stream: "stdout", text: "one\n" }, { stream: "stderr", text: "two\n" }, { stream: "stdout", text: "three\n" }])
      const asked = eventRequests(current, id)
      assert.isAtLeast(asked.length, 1)
      assert.strictEqual(asked[0]?.query.follow, "1")
      assert.strictEqual(asked[0]?.headers.accept, "text/event-stream")
    }).pipe(Effect.provide(layer(current))))

  it.live("resumes a broken stream (sse_error) with Last-Event-Id: nothing lost, nothing twice", () =>
    Effect.gen(function*() {
      current.breakEventStreams(2, 2)
      const { id, op, chunks } = yield* follow("echo a; echo b; echo c")
      assert.strictEqual(op.status, "SUCCESS")
      assert.deepStrictEqual(chunks.map((c) => c.text).join(""), "a\nb\nc\n")
      const asked = eventRequests(current, id)
      assert.isAtLeast(asked.length, 3)
      assert.isDefined(asked.at(-1)?.headers["last-event-id"])
    }).pipe(Effect.provide(layer(current))))

  it.live("reconnects after a server error on the stream (5xx), and still answers with the whole output", () =>
    Effect.gen(function*() {
      current.injectFault({ method: "GET", path: /\/events$/, status: 503, times: 2 })
      const { op, chunks } = yield* follow("echo after-errors")
      assert.strictEqual(op.status, "SUCCESS")
      assert.deepStrictEqual(chunks, [{ stream: "stdout", text: "after-errors\n" }])
    }).pipe(Effect.provide(layer(current))))

  it.live("a server without events (404 for an operation that exists) is remembered: no answer, no output, no second ask", () =>
    Effect.gen(function*() {
      const completion = yield* OperationCompletion
      const first = yield* run("echo hi")
      assert.isTrue(Option.isNone(yield* completion.awaitTerminal(first).pipe(Effect.timeout("300 millis"), Effect.option)))
      const second = yield* run("echo hi")
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(completion.output(second))), [])
      assert.isTrue(Option.isNone(yield* completion.awaitTerminal(second).pipe(Effect.timeout("100 millis"), Effect.option)))
      assert.strictEqual(eventRequests(legacy, first).length, 1)
      assert.strictEqual(eventRequests(legacy, second).length, 0)
    }).pipe(Effect.provide(layer(legacy))))
})
