import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EngineHost } from "../../../src/local/host/EngineHost.js"
import { invalidRequest } from "../../../src/local/LocalEngineError.js"
import { OperationRunner } from "../../../src/local/operations/OperationRunner.js"
import { LocalDatabase } from "../../../src/local/store/LocalDatabase.js"
import { OperationStore } from "../../../src/local/store/OperationStore.js"

/** The runner over a fresh database with one slot, without sandboxes or imports. */
const withRunner = <A, E>(body: Effect.Effect<A, E, OperationRunner | OperationStore>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-runner-"))),
    (dir) =>
      body.pipe(
        Effect.provide(
          OperationRunner.layer.pipe(
            Layer.provideMerge(OperationStore.layer),
            Layer.provideMerge(EngineHost.layer({ stateDir: dir, maxConcurrentRuns: 1 })),
            Layer.provideMerge(LocalDatabase(join(dir, "engine.db")))
          )
        )
      ),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("OperationRunner", () => {
  it.live("records a failed execution as FAILED with its message", () =>
    withRunner(Effect.gen(function*() {
      const runner = yield* OperationRunner
      const id = yield* (yield* OperationStore).create("instance", { image: null, metadata: {} })
      yield* runner.submit(id, { echoed: true }, invalidRequest("no such thing"), Effect.void)
      const operation = yield* runner.await(id)
      assert.strictEqual(operation.status, "FAILED")
      assert.strictEqual(operation.error, "no such thing")
    })))

  it.live("a cancel stops a running operation and one still queued; each one's release runs", () =>
    withRunner(Effect.gen(function*() {
      const runner = yield* OperationRunner
      const operations = yield* OperationStore
      const started = yield* Deferred.make<void>()
      const released: Array<string> = []
      const first = yield* operations.create("instance", { image: null, metadata: {} })
      const second = yield* operations.create("instance", { image: null, metadata: {} })
      const release = (id: string) => Effect.sync(() => void released.push(id))
      yield* runner.submit(first, {}, Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never)), release(first))
      yield* runner.submit(second, {}, Effect.void, release(second))
      yield* Deferred.await(started)
      assert.isTrue(yield* runner.cancel(second))
      assert.strictEqual((yield* runner.await(second)).status, "CANCELLED")
      assert.isTrue(yield* runner.cancel(first))
      assert.strictEqual((yield* runner.await(first)).status, "CANCELLED")
      assert.isFalse(yield* runner.cancel(first))
      assert.sameMembers(released.map((id) => id === first ? "first" : "second"), ["first", "second"])
    })))
})
