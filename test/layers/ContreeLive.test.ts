import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeLive } from "../../src/layers/ContreeLive.js"
import { ContreeCache } from "../../src/services/ContreeCache.js"
import { config } from "../support/http.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-live-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("ContreeLive", () => {
  it.scoped("opens the cache database at the configured path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const filename = join(dir, "sub", "cache.db")
      const write = Effect.flatMap(ContreeCache, (cache) => cache.put("image", "k", { v: 1 }))
      yield* write.pipe(Effect.provide(ContreeLive(config({ cacheGeneral: filename, cachePruneDays: 0 }))))
      const read = Effect.flatMap(ContreeCache, (cache) => cache.get("image", "k"))
      const again = yield* read.pipe(Effect.provide(ContreeLive(config({ cacheGeneral: filename, cachePruneDays: 0 }))))
      assert.deepStrictEqual(Option.map(again, (e) => e.data), Option.some({ v: 1 }))
    }))

  it.scoped("falls back to an in-memory cache when the database cannot be opened", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // The path is a directory, so SQLite cannot open it as a database file.
      const context = yield* Layer.build(ContreeLive(config({ cacheGeneral: dir, token: Option.none() })))
      const entry = yield* Effect.flatMap(ContreeCache, (cache) =>
        cache.put("image", "k", { v: 2 }).pipe(Effect.zipRight(cache.get("image", "k")))).pipe(Effect.provide(context))
      assert.deepStrictEqual(Option.map(entry, (e) => e.data), Option.some({ v: 2 }))
    }))
})
