import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeCacheSqlite, makeContreeCache } from "../../src/layers/ContreeCacheSqlite.js"
import { ContreeCache } from "../../src/services/ContreeCache.js"

/** The cache plus a handle on its database, so tests can age rows and inspect the table. */
const CacheWithSql = Layer.effect(ContreeCache, makeContreeCache).pipe(
  Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }))
)

/** Where the tests put the clock: rows are aged against it. */
const NOW = Date.parse("2026-06-01T12:00:00.000Z")

const keys = (entries: ReadonlyArray<{ readonly key: string }>) => entries.map((e) => e.key)

describe("ContreeCacheSqlite", () => {
  it.effect("put then get round-trips the JSON value", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      const data = { a: 1, nested: { b: [true, null, "x"] } }
      const put = yield* cache.put("image", "k1", data)
      assert.isAbove(put.id, 0)
      const got = yield* cache.get("image", "k1")
      assert.isTrue(Option.isSome(got))
      const entry = Option.getOrThrow(got)
      assert.deepStrictEqual(
        { id: entry.id, kind: entry.kind, key: entry.key, parentId: entry.parentId, data: entry.data },
        { id: put.id, kind: "image", key: "k1", parentId: null, data }
      )
      assert.isFalse(Number.isNaN(entry.createdAt.getTime()))
      assert.isTrue(Option.isNone(yield* cache.get("image", "missing")))
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("an upsert replaces the data but keeps id and createdAt", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      const sql = yield* SqlClient.SqlClient
      yield* TestClock.setTime(NOW)
      const first = yield* cache.put("k", "key", { v: 1 })
      yield* sql`UPDATE cache SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ${first.id}`
      const second = yield* cache.put("k", "key", { v: 2 })
      assert.strictEqual(second.id, first.id)
      assert.deepStrictEqual(second.data, { v: 2 })
      assert.strictEqual(second.createdAt.toISOString(), "2020-01-01T00:00:00.000Z")
      assert.isAbove(second.updatedAt.getTime(), second.createdAt.getTime())
    }).pipe(Effect.provide(CacheWithSql)))

  it.effect("delete says whether a row was removed", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* cache.put("k", "key", {})
      assert.isTrue(yield* cache.delete("k", "key"))
      assert.isTrue(Option.isNone(yield* cache.get("k", "key")))
      assert.isFalse(yield* cache.delete("k", "key"))
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("keeps the same key under different kinds apart", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* cache.put("a", "same", { from: "a" })
      yield* cache.put("b", "same", { from: "b" })
      assert.deepStrictEqual(Option.getOrThrow(yield* cache.get("a", "same")).data, { from: "a" })
      assert.deepStrictEqual(Option.getOrThrow(yield* cache.get("b", "same")).data, { from: "b" })
      yield* cache.delete("a", "same")
      assert.isTrue(Option.isSome(yield* cache.get("b", "same")))
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("lists by kind, filters on JSON fields, and honours the limit", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* cache.put("operation", "op-1", { status: "SUCCESS", n: 1, flag: true, meta: { by: "x" } })
      yield* cache.put("operation", "op-2", { status: "FAILED", n: 2, flag: false, meta: { by: "y" } })
      yield* cache.put("operation", "op-3", { status: "SUCCESS", n: 3, flag: false, meta: { by: "x" } })
      yield* cache.put("image", "img-1", { status: "SUCCESS" })

      assert.sameMembers(keys(yield* cache.list("operation")), ["op-1", "op-2", "op-3"])
      assert.sameMembers(keys(yield* cache.list("operation", { where: { status: "SUCCESS" } })), ["op-1", "op-3"])
      assert.sameMembers(keys(yield* cache.list("operation", { where: { n: 2 } })), ["op-2"])
      assert.sameMembers(keys(yield* cache.list("operation", { where: { "meta.by": "x", status: "SUCCESS" } })), ["op-1", "op-3"])
      assert.sameMembers(keys(yield* cache.list("operation", { where: { flag: true } })), ["op-1"])
      assert.sameMembers(keys(yield* cache.list("operation", { where: { flag: false } })), ["op-2", "op-3"])
      assert.lengthOf(yield* cache.list("operation", { limit: 2 }), 2)
      assert.deepStrictEqual(keys(yield* cache.list("nothing")), [])
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("lists newest first", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      const sql = yield* SqlClient.SqlClient
      yield* cache.put("k", "old", {})
      yield* cache.put("k", "new", {})
      yield* cache.put("k", "middle", {})
      yield* sql`UPDATE cache SET created_at = '2021-01-01T00:00:00.000Z' WHERE key = 'old'`
      yield* sql`UPDATE cache SET created_at = '2023-01-01T00:00:00.000Z' WHERE key = 'new'`
      yield* sql`UPDATE cache SET created_at = '2022-01-01T00:00:00.000Z' WHERE key = 'middle'`
      assert.deepStrictEqual(keys(yield* cache.list("k")), ["new", "middle", "old"])
      assert.deepStrictEqual(keys(yield* cache.list("k", { limit: 1 })), ["new"])
    }).pipe(Effect.provide(CacheWithSql)))

  it.effect("rejects filter field names that could inject SQL, and leaves the table intact", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* cache.put("operation", "op-1", { status: "SUCCESS" })
      for (const field of ["status') OR 1=1 --", "x; DROP TABLE cache; --", "a b", "1abc", "$.status", ""]) {
        const error = yield* Effect.flip(cache.list("operation", { where: { [field]: "SUCCESS" } }))
        assert.include(error.message, "Invalid filter field name", field)
      }
      assert.deepStrictEqual(keys(yield* cache.list("operation")), ["op-1"])
      assert.isTrue(Option.isSome(yield* cache.get("operation", "op-1")))
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("walks ancestors nearest first and all descendants, over several levels", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* cache.put("image", "root", {})
      yield* cache.put("image", "a", {}, { kind: "image", key: "root" })
      yield* cache.put("image", "b", {}, { kind: "image", key: "a" })
      yield* cache.put("image", "c", {}, { kind: "image", key: "b" })
      yield* cache.put("image", "a2", {}, { kind: "image", key: "root" })

      assert.deepStrictEqual(keys(yield* cache.ancestors("image", "c")), ["b", "a", "root"])
      assert.deepStrictEqual(keys(yield* cache.ancestors("image", "a")), ["root"])
      assert.deepStrictEqual(keys(yield* cache.ancestors("image", "root")), [])
      assert.deepStrictEqual(keys(yield* cache.ancestors("image", "unknown")), [])

      assert.sameMembers(keys(yield* cache.descendants("image", "root")), ["a", "a2", "b", "c"])
      assert.deepStrictEqual(keys(yield* cache.descendants("image", "b")), ["c"])
      assert.deepStrictEqual(keys(yield* cache.descendants("image", "c")), [])
      assert.deepStrictEqual(keys(yield* cache.descendants("image", "unknown")), [])

      const c = Option.getOrThrow(yield* cache.get("image", "c"))
      const b = Option.getOrThrow(yield* cache.get("image", "b"))
      assert.strictEqual(c.parentId, b.id)
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("a parent that is not cached leaves the link empty", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      const entry = yield* cache.put("image", "orphan", {}, { kind: "image", key: "never-seen" })
      assert.isNull(entry.parentId)
      assert.deepStrictEqual(keys(yield* cache.ancestors("image", "orphan")), [])
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("prunes rows older than the retention, and unlinks their children", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      const sql = yield* SqlClient.SqlClient
      yield* TestClock.setTime(NOW)
      yield* cache.put("image", "ancient", {})
      yield* cache.put("image", "child", {}, { kind: "image", key: "ancient" })
      yield* cache.put("operation", "old-op", {})
      yield* cache.put("operation", "fresh", {})
      const tenDaysAgo = new Date(NOW - 10 * 86_400_000).toISOString()
      yield* sql`UPDATE cache SET created_at = '2020-01-01T00:00:00.000Z' WHERE key = 'ancient'`
      yield* sql`UPDATE cache SET created_at = ${tenDaysAgo} WHERE key = 'old-op'`

      assert.strictEqual(yield* cache.prune(30), 1)
      assert.isTrue(Option.isNone(yield* cache.get("image", "ancient")))
      assert.isNull(Option.getOrThrow(yield* cache.get("image", "child")).parentId)
      assert.isTrue(Option.isSome(yield* cache.get("operation", "old-op")))

      assert.strictEqual(yield* cache.prune(5), 1)
      assert.isTrue(Option.isNone(yield* cache.get("operation", "old-op")))
      assert.sameMembers(keys(yield* cache.list("operation")), ["fresh"])
      assert.sameMembers(keys(yield* cache.list("image")), ["child"])
    }).pipe(Effect.provide(CacheWithSql)))

  it.effect("prune with 0 (or fewer) days keeps everything", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      const sql = yield* SqlClient.SqlClient
      yield* cache.put("k", "old", {})
      yield* sql`UPDATE cache SET created_at = '2000-01-01T00:00:00.000Z'`
      assert.strictEqual(yield* cache.prune(0), 0)
      assert.strictEqual(yield* cache.prune(-1), 0)
      assert.isTrue(Option.isSome(yield* cache.get("k", "old")))
    }).pipe(Effect.provide(CacheWithSql)))

  it.effect("creates the database's directory and keeps entries across reopenings", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "contree-cache-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const filename = join(dir, "nested", "deeper", "cache.db")
      yield* Effect.flatMap(ContreeCache, (cache) => cache.put("image", "k", { v: 1 })).pipe(
        Effect.provide(ContreeCacheSqlite(filename))
      )
      const again = yield* Effect.flatMap(ContreeCache, (cache) => cache.get("image", "k")).pipe(
        Effect.provide(ContreeCacheSqlite(filename))
      )
      assert.deepStrictEqual(Option.getOrThrow(again).data, { v: 1 })
    }).pipe(Effect.scoped))

  it.effect("reports a database that cannot be opened as a CacheError naming the file", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "contree-cache-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      // A directory where the database file should be.
      const error = yield* Effect.flip(Layer.build(ContreeCacheSqlite(dir)))
      assert.strictEqual(error._tag, "CacheError")
      assert.include(error.message, dir)
    }).pipe(Effect.scoped))
})
