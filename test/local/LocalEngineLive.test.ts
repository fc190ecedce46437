import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { rmSync } from "node:fs"
import { LocalEngine } from "../../src/local/LocalEngine.js"
import { LocalEngineLive } from "../../src/local/LocalEngineLive.js"
import { tempDir } from "./support.js"

describe("LocalEngineLive", () => {
  it.live("two engines built in one memo map share none of their parts", () =>
    Effect.gen(function*() {
      const dirs = [tempDir(), tempDir()]
      yield* Effect.addFinalizer(() => Effect.sync(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }))))
      const memoMap = yield* Layer.makeMemoMap
      const scope = yield* Effect.scope
      const [first, second] = yield* Effect.forEach(dirs, (stateDir) =>
        Layer.buildWithMemoMap(LocalEngineLive({ stateDir, baseImages: false }), memoMap, scope).pipe(Effect.map(Context.get(LocalEngine))))
      const uploaded = yield* first!.uploadFile({ _tag: "Bytes", bytes: new TextEncoder().encode("only in the first") })
      assert.isTrue(Option.isSome(yield* first!.findFileByHash(uploaded.sha256)))
      assert.isTrue(Option.isNone(yield* second!.findFileByHash(uploaded.sha256)))
    }).pipe(Effect.scoped))
})
