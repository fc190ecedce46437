import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Option, Stream } from "effect"
import { frameEvent, sseFrames } from "../../src/api/EventStream.js"

const framesOf = (...parts: ReadonlyArray<string>) =>
  Stream.runCollect(sseFrames(Stream.fromIterable(parts.map((part) => new TextEncoder().encode(part))))).pipe(Effect.map(Chunk.toReadonlyArray))

describe("sseFrames", () => {
  it.effect("reads frames across chunk boundaries, with CRLF, comments and multi-line data", () =>
    Effect.gen(function*() {
      const frames = yield* framesOf(
        ": connected\n\nid: 1\nevent: std",
        "out\ndata: {\"id\":1,\"type\":\"stdout\",\"spid\":1,\"data\":{\"value\":\"hi\\n\",\"encoding\":\"ascii\"}}\n\n",
        ": keepalive\r\n\r\nid: 2\r\nevent: note\r\ndata: line one\r\ndata: line two\r\n\r\n",
        ": broken\nevent: sse_error\ndata: stream broken\n\n"
      )
      assert.deepStrictEqual(frames.map((f) => [f.id, f.event]), [["1", "stdout"], ["2", "note"], [undefined, "sse_error"]])
      assert.strictEqual(frames[1]?.data, "line one\nline two")
      const event = frameEvent(frames[0]!)
      assert.deepStrictEqual(Option.map(event, (e) => [e.id, e.type, e.spid]), Option.some([1, "stdout", 1]))
      assert.isTrue(Option.isNone(frameEvent(frames[1]!)))
      assert.isTrue(Option.isNone(frameEvent(frames[2]!)))
    }))
})
