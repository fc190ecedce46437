import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import { type KnownUpload, uploadDeduplicatedWith } from "../../src/files/uploadDeduplicated.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"

/** A server holding `present` uuids, and an in-memory store; every server call is recorded. */
const harness = (present: Set<string>, storedSha256 = "abc") => {
  const calls: Array<string> = []
  const facts = new Map<string, KnownUpload>()
  const client = Layer.mock(ContreeClient, {
    fileUuidExists: (uuid) => Effect.sync(() => (calls.push(`exists ${uuid}`), present.has(uuid))),
    findFileByHash: (sha256) => Effect.sync(() => (calls.push(`find ${sha256}`), Option.none())),
    uploadFile: () => Effect.sync(() => (calls.push("upload"), present.add("new-uuid"), { uuid: "new-uuid", sha256: storedSha256 }))
  })
  const upload = Effect.map(ContreeClient, (c) =>
    uploadDeduplicatedWith(c, {
      get: (sha256) => Effect.sync(() => Option.fromNullable(facts.get(sha256))),
      put: (fact) => Effect.sync(() => void facts.set(fact.sha256, fact))
    })({ _tag: "Bytes", bytes: new Uint8Array([1]) }, "abc", 1))
  return { calls, facts, run: Effect.flatten(upload).pipe(Effect.provide(client)) }
}

describe("uploadDeduplicatedWith", () => {
  it.effect("trusts a remembered upload for 24 h, then re-checks its uuid, and re-uploads what the server lost", () => {
    const present = new Set<string>()
    const h = harness(present)
    return Effect.gen(function*() {
      assert.strictEqual((yield* h.run).outcome, "uploaded")
      assert.deepStrictEqual(h.calls, ["find abc", "upload"])

      yield* TestClock.adjust("23 hours")
      assert.strictEqual((yield* h.run).outcome, "known")
      assert.strictEqual(h.calls.length, 2)

      yield* TestClock.adjust("2 hours")
      assert.strictEqual((yield* h.run).outcome, "revalidated")
      assert.deepStrictEqual(h.calls.slice(2), ["exists new-uuid"])
      assert.strictEqual(h.facts.get("abc")?.verifiedAt, 25 * 3_600_000)

      yield* TestClock.adjust("25 hours")
      present.clear()
      assert.strictEqual((yield* h.run).outcome, "uploaded")
      assert.deepStrictEqual(h.calls.slice(3), ["exists new-uuid", "find abc", "upload"])
    })
  })

  it.effect("refuses an upload whose stored content is not what was hashed, and remembers nothing", () => {
    const h = harness(new Set(), "other")
    return Effect.gen(function*() {
      const error = yield* Effect.flip(h.run)
      assert.strictEqual(error.reason, "Conflict")
      assert.include(error.message, "changed while it was uploaded")
      assert.strictEqual(h.facts.size, 0)
    })
  })

  it.effect("re-checks by hash when the server cannot confirm a uuid (current generation), keeping the same upload as revalidated", () => {
    const calls: Array<string> = []
    const facts = new Map<string, KnownUpload>([["abc", { uuid: "u-1", sha256: "abc", size: 1, verifiedAt: 0 }]])
    const client = Layer.mock(ContreeClient, {
      fileUuidExists: (uuid) => Effect.sync(() => (calls.push(`exists ${uuid}`), false)),
      findFileByHash: (sha256) => Effect.sync(() => (calls.push(`find ${sha256}`), Option.some({ uuid: "u-1", sha256 })))
    })
    return Effect.gen(function*() {
      yield* TestClock.adjust("25 hours")
      const c = yield* ContreeClient
      const store = {
        get: (sha256: string) => Effect.sync(() => Option.fromNullable(facts.get(sha256))),
        put: (fact: KnownUpload) => Effect.sync(() => void facts.set(fact.sha256, fact))
      }
      const result = yield* uploadDeduplicatedWith(c, store)({ _tag: "Bytes", bytes: new Uint8Array([1]) }, "abc", 1)
      assert.strictEqual(result.outcome, "revalidated")
      assert.strictEqual(result.uuid, "u-1")
      assert.deepStrictEqual(calls, ["exists u-1", "find abc"])
      assert.strictEqual(facts.get("abc")?.verifiedAt, 25 * 3_600_000)
    }).pipe(Effect.provide(client))
  })
})
