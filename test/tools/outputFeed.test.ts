import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { outputFeed } from "../../src/tools/ToolContext.js"

describe("outputFeed", () => {
  it.effect("sends the streams' tails, at most one notification per interval; output in between rides along", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const feed = outputFeed((message) => Effect.sync(() => void sent.push(message)), 250)
      yield* feed({ stream: "stdout", text: "a\n" })
      yield* feed({ stream: "stdout", text: "b\n" })
      yield* feed({ stream: "stderr", text: "warn\n" })
      assert.deepStrictEqual(sent, ["stdout:\na\n"])
      yield* TestClock.adjust("250 millis")
      yield* feed({ stream: "stdout", text: "c\n" })
      assert.deepStrictEqual(sent, ["stdout:\na\n", "stdout:\na\nb\nc\n\nstderr:\nwarn\n"])
    }))

  it.effect("keeps only the end of a long stream", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const feed = outputFeed((message) => Effect.sync(() => void sent.push(message)))
      yield* feed({ stream: "stdout", text: "x".repeat(5000) + "END" })
      assert.isAtMost(sent[0]!.length, 1100)
      assert.isTrue(sent[0]!.endsWith("END"))
    }))
})
