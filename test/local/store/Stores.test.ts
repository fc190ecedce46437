import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EngineHost } from "../../../src/local/host/EngineHost.js"
import { ImageStore } from "../../../src/local/store/ImageStore.js"
import { LocalDatabase } from "../../../src/local/store/LocalDatabase.js"
import { makeOperationRecords } from "../../../src/local/store/OperationRecords.js"
import { OperationStore } from "../../../src/local/store/OperationStore.js"

/** The two stores over a fresh database, without the rest of the engine. */
const withStores = <A, E>(body: Effect.Effect<A, E, ImageStore | OperationStore | EngineHost | SqlClient.SqlClient>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-stores-"))),
    (dir) =>
      body.pipe(
        Effect.provide(
          Layer.mergeAll(ImageStore.layer, OperationStore.layer).pipe(
            Layer.provideMerge(EngineHost.layer({ stateDir: dir })),
            Layer.provideMerge(LocalDatabase(join(dir, "engine.db")))
          )
        )
      ),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("stores", () => {
  it.effect("a new operation is PENDING, this engine's, and dated by the Clock; its duration runs on the Clock", () =>
    withStores(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-02T00:00:00Z"))
      const operations = yield* OperationStore
      const id = yield* operations.create("instance", { image: "img", metadata: { command: "true" } })
      const row = yield* operations.require(id)
      assert.strictEqual(row.status, "PENDING")
      assert.strictEqual(row.owner, (yield* EngineHost).owner)
      assert.strictEqual(row.createdAt, Date.parse("2026-01-02T00:00:00Z"))
      assert.deepStrictEqual(row.metadata, { command: "true" })
      yield* TestClock.adjust("5 seconds")
      const operation = yield* operations.operation(row)
      assert.strictEqual(operation.duration, 5)
      assert.strictEqual(operation.created_at, "2026-01-02T00:00:00.000Z")
    })))

  it.effect("a run's echoed files are stored once, apart from its row, and read back with it", () =>
    withStores(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const operations = yield* OperationStore
      const files = { "/app/a.py": { uuid: "f-1", mode: "0644", uid: 0, gid: 0 }, "/app/b.py": { uuid: "f-2", mode: "0755", uid: 0, gid: 0 } }
      const ids = [
        yield* operations.create("instance", { image: "img", metadata: { command: "true", files } }),
        yield* operations.create("instance", { image: "img", metadata: { command: "true", files: { ...files } } })
      ]
      yield* operations.records.start(ids[0]!)
      assert.isTrue(yield* operations.records.finish(ids[0]!, { status: "SUCCESS", error: null, metadata: { command: "true", files, result: null }, resultImage: null }))
      for (const id of ids) assert.deepStrictEqual((yield* operations.require(id)).metadata["files"], files)
      const stored = yield* sql<{ metadata: string }>`SELECT metadata FROM operations`
      assert.isTrue(stored.every((row) => !row.metadata.includes("f-1")))
      assert.strictEqual((yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM operation_files`)[0]!.n, 1)
      // Another server process over the same database reads them from the table.
      const fresh = makeOperationRecords(sql)
      const row = yield* fresh.get(ids[1]!)
      assert.deepStrictEqual(row._tag === "Some" ? row.value.metadata["files"] : undefined, files)
    })))

  it.effect("a stored row that is not what the engine writes is an error, not a cast", () =>
    withStores(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO operations (uuid, kind, status, metadata, owner, created_at) VALUES ('bad', 'instance', 'PENDING', 'not json', 'x', 0)`
      yield* sql`INSERT INTO images (uuid, layers, source, created_at) VALUES ('odd', '{"not":"a list"}', 'run', 0)`
      assert.strictEqual((yield* Effect.flip((yield* OperationStore).require("bad"))).reason, "Internal")
      assert.strictEqual((yield* Effect.flip((yield* ImageStore).require("odd"))).reason, "Internal")
    })))

  it.effect("a layer that is not recorded breaks the stack, and is read again once it is", () =>
    withStores(Effect.gen(function*() {
      const images = yield* ImageStore
      const image = { uuid: "img", layers: ["aa", "bb"], parent: null, tag: null, source: "run", operation: null, createdAt: 0, manifest: null, defaults: null }
      yield* images.records.insert(image, { id: "aa", opaque: [] })
      const broken = yield* Effect.flip(images.stackOf(image))
      assert.strictEqual(broken.message, "broken image: layer bb of image img is not recorded")
      yield* images.records.insertLayer({ id: "bb", opaque: ["etc"] }, 0)
      const stack = yield* images.stackOf(image)
      assert.deepStrictEqual(stack.layers.map((layer) => [...layer.opaque]), [["etc"], []])
    })))
})
