import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Option } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeLive } from "../../src/layers/ContreeLive.js"
import { ContreeCache } from "../../src/services/ContreeCache.js"
import { FileSync } from "../../src/services/FileSync.js"
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

  it.scoped("opens the file-sync database at cacheFiles, and falls back to memory when it cannot", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const filename = join(dir, "sub", "files.db")
      const lookUp = Effect.flatMap(FileSync, (fileSync) => Effect.flip(fileSync.files(1)))
      const opened = yield* lookUp.pipe(
        Effect.provide(ContreeLive(config({ cacheFiles: filename, cacheGeneral: join(dir, "cache.db"), cachePruneDays: 0 })))
      )
      assert.strictEqual(opened.reason, "UnknownState")
      assert.isTrue(existsSync(filename))
      // A directory where the database file should be.
      const fallback = yield* lookUp.pipe(
        Effect.provide(ContreeLive(config({ cacheFiles: dir, cacheGeneral: join(dir, "cache.db"), cachePruneDays: 0 }))),
        Logger.withMinimumLogLevel(LogLevel.None)
      )
      assert.strictEqual(fallback.reason, "UnknownState")
    }))
})
