import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { ContreeClientMemo } from "../../src/layers/ContreeClientMemo.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeApiError } from "../../src/services/ContreeError.js"
import { CHILD, finishedRun, IMAGE, image } from "../support/fixtures.js"

/** A backend that counts getImage calls and answers with the current tag, or fails while `failing`. */
const makeBackend = () => {
  const state = { getImage: 0, tag: "v1" as string | null, failing: false }
  const layer = Layer.mock(ContreeClient, {
    getImage: (uuid) =>
      Effect.suspend(() => {
        state.getImage++
        return state.failing
          ? Effect.fail(new ContreeApiError({ reason: "Server", message: "boom", method: "GET", path: `/inspect/${uuid}/`, status: 500 }))
          : Effect.succeed(image(uuid, state.tag))
      }),
    tagImage: (uuid, tag) => Effect.sync(() => (state.tag = tag, image(uuid, tag))),
    untagImage: () => Effect.sync(() => void (state.tag = null)),
    getOperation: (id) => Effect.sync(() => finishedRun({ uuid: id }))
  })
  return { state, layer: ContreeClientMemo("10 seconds").pipe(Layer.provide(layer)) }
}

describe("ContreeClientMemo", () => {
  it.effect("answers a second getImage within the TTL without a request", () =>
    Effect.gen(function*() {
      const backend = makeBackend()
      yield* Effect.gen(function*() {
        const client = yield* ContreeClient
        const first = yield* client.getImage(IMAGE)
        yield* TestClock.adjust("9 seconds")
        const second = yield* client.getImage(IMAGE)
        assert.strictEqual(backend.state.getImage, 1)
        assert.deepStrictEqual(second, first)
        yield* client.getImage(CHILD)
        assert.strictEqual(backend.state.getImage, 2, "a different image is fetched")
      }).pipe(Effect.provide(backend.layer))
    }))

  it.effect("asks again once the TTL has passed", () =>
    Effect.gen(function*() {
      const backend = makeBackend()
      yield* Effect.gen(function*() {
        const client = yield* ContreeClient
        yield* client.getImage(IMAGE)
        yield* TestClock.adjust("10 seconds")
        yield* client.getImage(IMAGE)
        assert.strictEqual(backend.state.getImage, 2)
      }).pipe(Effect.provide(backend.layer))
    }))

  it.effect("tagImage and untagImage forget what was remembered", () =>
    Effect.gen(function*() {
      const backend = makeBackend()
      yield* Effect.gen(function*() {
        const client = yield* ContreeClient
        assert.strictEqual((yield* client.getImage(IMAGE)).tag, "v1")
        yield* client.tagImage(IMAGE, "v2")
        assert.strictEqual((yield* client.getImage(IMAGE)).tag, "v2")
        assert.strictEqual(backend.state.getImage, 2)
        yield* client.untagImage(IMAGE)
        assert.isNull((yield* client.getImage(IMAGE)).tag)
        assert.strictEqual(backend.state.getImage, 3)
      }).pipe(Effect.provide(backend.layer))
    }))

  it.effect("does not remember failures", () =>
    Effect.gen(function*() {
      const backend = makeBackend()
      yield* Effect.gen(function*() {
        const client = yield* ContreeClient
        backend.state.failing = true
        const error = yield* Effect.flip(client.getImage(IMAGE))
        assert.strictEqual(error.reason, "Server")
        backend.state.failing = false
        assert.strictEqual((yield* client.getImage(IMAGE)).uuid, IMAGE)
        assert.strictEqual(backend.state.getImage, 2)
      }).pipe(Effect.provide(backend.layer))
    }))

  it.effect("passes other methods through", () =>
    Effect.gen(function*() {
      const backend = makeBackend()
      const op = yield* Effect.flatMap(ContreeClient, (c) => c.getOperation("op-42")).pipe(Effect.provide(backend.layer))
      assert.strictEqual(op.uuid, "op-42")
    }))
})
