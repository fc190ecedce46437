import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeTokenCheck, resolveServeToken } from "../../src/serve/ServeToken.js"

const withDir = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-serve-token-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("resolveServeToken", () => {
  it.effect("generates a token into a 0600 file once; later starts read it and say nothing was generated", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const file = join(dir, "state", "serve-token")
        const first = yield* resolveServeToken({ fromEnv: Option.none(), file })
        assert.deepStrictEqual(first.generated, Option.some(file))
        assert.strictEqual(statSync(file).mode & 0o777, 0o600)
        assert.strictEqual(readFileSync(file, "utf8").trim(), Redacted.value(first.token))
        const second = yield* resolveServeToken({ fromEnv: Option.none(), file })
        assert.isTrue(Option.isNone(second.generated))
        assert.strictEqual(Redacted.value(second.token), Redacted.value(first.token))
      })
    ))

  it.effect("two starts at once agree on one token", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const file = join(dir, "serve-token")
        const all = yield* Effect.all(Array.from({ length: 8 }, () => resolveServeToken({ fromEnv: Option.none(), file })), { concurrency: "unbounded" })
        assert.strictEqual(new Set(all.map((t) => Redacted.value(t.token))).size, 1)
        assert.strictEqual(all.filter((t) => Option.isSome(t.generated)).length, 1)
      })
    ))

  it.effect("prefers the environment's token and leaves the file alone", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const file = join(dir, "serve-token")
        const resolved = yield* resolveServeToken({ fromEnv: Option.some(Redacted.make("from-env")), file })
        assert.strictEqual(Redacted.value(resolved.token), "from-env")
        assert.isTrue(Option.isNone(resolved.generated))
        assert.throws(() => statSync(file))
      })
    ))

  it.effect("refuses an empty token file rather than serving with an empty token", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const file = join(dir, "serve-token")
        writeFileSync(file, "\n", { mode: 0o600 })
        const error = yield* Effect.flip(resolveServeToken({ fromEnv: Option.none(), file }))
        assert.strictEqual(error.reason, "Empty")
        assert.include(error.message, file)
      })
    ))
})

describe("makeTokenCheck", () => {
  it("accepts only the exact bearer token", () => {
    const check = makeTokenCheck(Redacted.make("s3cret"))
    assert.isTrue(check("Bearer s3cret"))
    assert.isTrue(check("bearer   s3cret"))
    for (const header of [undefined, "", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret", "Bearer s3cret extra"]) {
      assert.isFalse(check(header), String(header))
    }
  })
})
