import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { ContreeCacheSqlite } from "../../src/layers/ContreeCacheSqlite.js"
import { ContreeCache } from "../../src/services/ContreeCache.js"
import { lineageOf, recordOperation } from "../../src/services/ImageLineage.js"
import { finishedRun, operation } from "../support/fixtures.js"

const run = (uuid: string, from: string, to: string) => finishedRun({ uuid, image: from, resultImage: to, command: `make ${to}` })

describe("ImageLineage", () => {
  it.effect("an unknown image has empty lineage", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* lineageOf("nope"), {
        image: "nope",
        parent: null,
        children: [],
        ancestors: [],
        root: null,
        depth: 0,
        is_known: false,
        data: null
      })
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("follows a four-level chain: ancestors nearest first, root, depth and all descendants", () =>
    Effect.gen(function*() {
      yield* recordOperation(run("op-1", "base", "l1"))
      yield* recordOperation(run("op-2", "l1", "l2"))
      yield* recordOperation(run("op-3", "l2", "l3"))
      yield* recordOperation(run("op-4", "l1", "branch"))

      const leaf = yield* lineageOf("l3")
      assert.strictEqual(leaf.parent, "l2")
      assert.deepStrictEqual(leaf.ancestors, ["l2", "l1", "base"])
      assert.strictEqual(leaf.root, "base")
      assert.strictEqual(leaf.depth, 3)
      assert.deepStrictEqual(leaf.children, [])
      assert.deepStrictEqual(leaf.data, { parent_image: "l2", operation_id: "op-3", command: "make l3" })

      const base = yield* lineageOf("base")
      assert.isTrue(base.is_known)
      assert.isNull(base.parent)
      assert.strictEqual(base.root, "base")
      assert.strictEqual(base.depth, 0)
      assert.sameMembers([...base.children], ["l1", "l2", "l3", "branch"])
      assert.sameMembers([...(yield* lineageOf("l1")).children], ["l2", "l3", "branch"])
      assert.isString(JSON.stringify(leaf))
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("keeps the data of an input image it already knew", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* cache.put("image", "base", { is_import: true, registry_url: "docker://alpine" })
      yield* recordOperation(run("op-1", "base", "child"))
      assert.deepStrictEqual(Option.getOrThrow(yield* cache.get("image", "base")).data, { is_import: true, registry_url: "docker://alpine" })
      assert.deepStrictEqual((yield* lineageOf("child")).ancestors, ["base"])
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))

  it.effect("records nothing for unsuccessful runs, runs without a result image, or runs that saved the same image", () =>
    Effect.gen(function*() {
      const cache = yield* ContreeCache
      yield* recordOperation(finishedRun({ uuid: "a", image: "x", resultImage: "y", status: "FAILED" }))
      yield* recordOperation(finishedRun({ uuid: "b", image: "x", resultImage: null }))
      yield* recordOperation(finishedRun({ uuid: "c", image: "x", resultImage: "x" }))
      yield* recordOperation(operation({ uuid: "d", status: "EXECUTING", metadata: { command: "c", image: "x" }, result: { image: "z" } }))
      assert.deepStrictEqual(yield* cache.list("image"), [])
    }).pipe(Effect.provide(ContreeCacheSqlite(":memory:"))))
})
