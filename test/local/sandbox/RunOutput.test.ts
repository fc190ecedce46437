import { assert, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { busybox, describeSandbox, request, withLocal } from "../support.js"

describeSandbox("a run's output while it runs", () => {
  it.live("reaches a watcher as it is written, stdout and stderr apart, and the feed ends with the run", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const engine = yield* LocalEngine
        const image = yield* busybox
        const id = yield* client.spawnInstance(request(image, "echo one; echo oops >&2; sleep 2; echo two"))
        const watched = yield* Effect.fork(Stream.runCollect(engine.watchOutput(id)))
        // The first line comes while the command still sleeps: the run is not over yet.
        const first = yield* Stream.runHead(Stream.filter(engine.watchOutput(id), (c) => c.stream === "stdout"))
        assert.strictEqual(first._tag === "Some" ? first.value.text : "", "one\n")
        assert.strictEqual((yield* engine.getOperation(id)).status, "EXECUTING")
        const chunks = Chunk.toArray(yield* Fiber.join(watched))
        const text = (stream: string) => chunks.filter((c) => c.stream === stream).map((c) => c.text).join("")
        assert.strictEqual(text("stdout"), "one\ntwo\n")
        assert.strictEqual(text("stderr"), "oops\n")
        const operation = yield* engine.awaitOperation(id)
        assert.strictEqual(operation.status, "SUCCESS")
        // A run that is over has no feed: a watcher's stream ends at once.
        assert.strictEqual(Chunk.size(yield* Stream.runCollect(engine.watchOutput(id))), 0)
      }), { maxConcurrentRuns: 2 }))
})
