import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { pollUntil } from "../../../src/local/host/Polling.js"

describe("pollUntil", () => {
  it.effect("checks at once, then after each pause, until the check holds", () =>
    Effect.gen(function*() {
      let tries = 0
      const fiber = yield* Effect.fork(pollUntil(Effect.sync(() => ++tries), (n) => n === 3, Effect.sleep("1 second")))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(tries, 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), 3)
    }))

  it.effect("does not pause when the first check holds", () =>
    Effect.gen(function*() {
      let paused = false
      const result = yield* pollUntil(Effect.succeed("done"), () => true, Effect.sync(() => void (paused = true)))
      assert.strictEqual(result, "done")
      assert.isFalse(paused)
    }))
})
