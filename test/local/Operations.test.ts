import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { LocalEngine } from "../../src/local/LocalEngine.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import {
  busybox,
  describeSandbox,
  eventually,
  exitCode,
  localLayer,
  marker,
  processesRunning,
  processesWith,
  request,
  run,
  stdout,
  tempDir,
  withLocal
} from "./support.js"
import { cgroupsNamed } from "../support/cgroups.js"


/** The layer ids of an image, read from the engine's database. */
const layersOf = (stateDir: string, image: string) =>
  Effect.gen(function*() {
    const sql = yield* SqliteClient.SqliteClient
    const rows = yield* sql<{ layers: string }>`SELECT layers FROM images WHERE uuid = ${image}`
    return JSON.parse(rows[0]!.layers) as Array<string>
  }).pipe(Effect.provide(SqliteClient.layer({ filename: join(stateDir, "engine.db") })))

describeSandbox("local operations", () => {
  it.live("cancel kills the sandbox and leaves no process, directory or layer behind", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const tag = marker()
        const layersBefore = readdirSync(join(stateDir, "sandbox", "layers")).sort()
        const id = yield* client.spawnInstance(request(image, `echo x > /root/partial; sleep ${tag} & sleep ${tag}`, { disposable: false }))
        yield* eventually(() => processesRunning(`sleep ${tag}`).length === 2)
        assert.strictEqual((yield* client.getOperation(id)).status, "EXECUTING")

        assert.isTrue(yield* client.cancelOperation(id))
        assert.deepStrictEqual(processesWith(`sleep ${tag}`), [])
        const op = yield* client.getOperation(id)
        assert.strictEqual(op.status, "CANCELLED")
        assert.isNull(op.resultImage)
        assert.deepStrictEqual(readdirSync(join(stateDir, "sandbox", "runs")), [])
        assert.deepStrictEqual(readdirSync(join(stateDir, "sandbox", "layers")).sort(), layersBefore)
        assert.strictEqual((yield* client.listImages({ limit: 100, offset: 0 })).length, 1)
        assert.isFalse(yield* client.cancelOperation(id))
        assert.deepStrictEqual(cgroupsNamed(id), [])
      })
    ))

  it.live("a cancel at any moment of the sandbox's set-up leaves no process behind", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const tag = marker()
        for (let delay = 0; delay < 60; delay += 4) {
          const id = yield* client.spawnInstance(request(image, `sleep ${tag}`, { disposable: delay % 8 === 0 }))
          yield* Effect.sleep(delay)
          assert.isTrue(yield* client.cancelOperation(id))
          assert.deepStrictEqual(processesWith(`sleep ${tag}`), [], `cancelled after ${delay} ms`)
        }
        assert.deepStrictEqual(readdirSync(join(stateDir, "sandbox", "runs")), [])
      })
    ))

  it.live("two servers share a state directory: each sees the other's images, and one cancels the other's run", () =>
    Effect.acquireUseRelease(Effect.sync(tempDir), (stateDir) =>
      Effect.gen(function*() {
        const tag = marker()
        const first = yield* Layer.build(localLayer(stateDir))
        const second = yield* Layer.build(localLayer(stateDir))
        const inFirst = <A, E>(effect: Effect.Effect<A, E, ContreeClient | LocalEngine>) => Effect.provide(effect, first)
        const inSecond = <A, E>(effect: Effect.Effect<A, E, ContreeClient | LocalEngine>) => Effect.provide(effect, second)
        const image = yield* inFirst(busybox)
        assert.strictEqual(yield* inSecond(busybox), image)
        const id = yield* inFirst(Effect.flatMap(ContreeClient, (c) => c.spawnInstance(request(image, `sleep ${tag}`))))
        yield* eventually(() => processesRunning(`sleep ${tag}`).length === 1)
        assert.strictEqual((yield* inSecond(Effect.flatMap(ContreeClient, (c) => c.getOperation(id)))).status, "EXECUTING")
        assert.isTrue(yield* inSecond(Effect.flatMap(ContreeClient, (c) => c.cancelOperation(id))))
        assert.deepStrictEqual(processesWith(`sleep ${tag}`), [])
        assert.strictEqual((yield* inFirst(Effect.flatMap(LocalEngine, (e) => e.awaitOperation(id)))).status, "CANCELLED")
        const done = yield* inSecond(run(request(image, "echo from the second")))
        assert.strictEqual((yield* inFirst(Effect.flatMap(LocalEngine, (e) => e.awaitOperation(done.uuid)))).status, "SUCCESS")
        yield* eventually(() => readdirSync(join(stateDir, "sandbox", "runs")).length === 0)
      }).pipe(Effect.scoped), (stateDir) => Effect.sync(() => rmSync(stateDir, { recursive: true, force: true }))))

  it.live("cancelling a queued operation means it never starts", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const engine = yield* LocalEngine
        const image = yield* busybox
        const tag = marker()
        const blocker = yield* client.spawnInstance(request(image, `sleep ${tag}`))
        const queued = yield* client.spawnInstance(request(image, "echo ran"))
        assert.strictEqual((yield* client.getOperation(queued)).status, "PENDING")
        assert.isTrue(yield* client.cancelOperation(queued))
        assert.strictEqual((yield* engine.awaitOperation(queued)).status, "CANCELLED")
        assert.isTrue(yield* client.cancelOperation(blocker))
        assert.deepStrictEqual(processesWith(`sleep ${tag}`), [])
      }), { maxConcurrentRuns: 1 }))

  it.live("20 concurrent runs through a queue of 4 all finish with their own results", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const ops = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => run(request(image, `echo run-${i} > /root/out; sleep 0.1; cat /root/out`, { disposable: i % 2 === 0 })),
          { concurrency: "unbounded" }
        )
        ops.forEach((op, i) => {
          assert.strictEqual(op.status, "SUCCESS")
          assert.strictEqual(stdout(op), `run-${i}\n`)
          assert.strictEqual(op.resultImage === null, i % 2 === 0)
        })
        const client = yield* ContreeClient
        assert.strictEqual((yield* client.listImages({ limit: 100, offset: 0 })).length, 11)
        assert.strictEqual((yield* client.listOperations({ limit: 100, offset: 0, status: "SUCCESS" })).length, 20)
      })
    ))

  it.live("squashes a chain that grows past maxLayers into one layer, keeping its content", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        let image = yield* busybox
        const depths: Array<number> = []
        for (let i = 1; i <= 4; i++) {
          const op = yield* run(request(image, `echo ${i} > /root/f${i}; rm -f /root/f${i - 2}`, { disposable: false }))
          assert.strictEqual(exitCode(op), 0)
          image = op.resultImage!
          depths.push((yield* layersOf(stateDir, image)).length)
        }
        assert.deepStrictEqual(depths, [2, 3, 1, 2])
        const names = (yield* client.listDirectory(image, "/root")).files.map((f) => f.path)
        assert.deepStrictEqual(names, ["f3", "f4"])
        const seen = yield* run(request(image, "cat /root/f3 /root/f4; ls /bin | wc -l"))
        assert.match(stdout(seen), /^3\n4\n\d+\n$/)
      }), { maxLayers: 3 }))

  it.live("at start-up, operations a crash left EXECUTING fail and their partial directories go", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      // A first server creates the state, then "crashes" in the middle of a run.
      yield* Effect.provide(busybox, localLayer(stateDir))
      const id = "11111111-2222-4333-8444-555555555555"
      yield* Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        yield* sql`INSERT INTO operations (uuid, kind, status, error, image, result_image, metadata, owner, sandbox, created_at, finished_at)
          VALUES (${id}, 'instance', 'EXECUTING', NULL, NULL, NULL, '{"command":"sleep 100","image":"x"}', '999999999:1', NULL, ${Date.now()}, NULL)`
        // Its commit had renamed the new layer into place, but its transaction never committed.
        yield* sql`INSERT INTO staged_layers (id, owner, created_at) VALUES ('deadbeef0000', '999999999:1', ${Date.now()})`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: join(stateDir, "engine.db") })))
      mkdirSync(join(stateDir, "sandbox", "runs", id, "upper", "root"), { recursive: true })
      writeFileSync(join(stateDir, "sandbox", "runs", id, "upper", "root", "partial"), "half-written")
      mkdirSync(join(stateDir, "sandbox", "layers", "deadbeef0000", "root"), { recursive: true })

      const op = yield* Effect.provide(Effect.flatMap(ContreeClient, (client) => client.getOperation(id)), localLayer(stateDir))
      assert.strictEqual(op.status, "FAILED")
      assert.match(op.error ?? "", /interrupted/)
      assert.isFalse(existsSync(join(stateDir, "sandbox", "runs", id)))
      assert.isFalse(existsSync(join(stateDir, "sandbox", "layers", "deadbeef0000")))
      rmSync(stateDir, { recursive: true, force: true })
    }))

  it.live("refuses a state directory made with another id mapping", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      yield* Effect.provide(busybox, localLayer(stateDir))
      const error = yield* Effect.flip(Effect.provide(busybox, localLayer(stateDir, { idBase: 0x60000000 })))
      assert.match(String(error), /sandbox ids/)
      rmSync(stateDir, { recursive: true, force: true })
    }))

  it.live("shutting down stops running sandboxes and records why", () =>
    Effect.gen(function*() {
      const stateDir = tempDir()
      const tag = marker()
      const id = yield* Effect.gen(function*() {
        const client = yield* ContreeClient
        const id = yield* client.spawnInstance(request(yield* busybox, `sleep ${tag}`))
        yield* eventually(() => processesRunning(`sleep ${tag}`).length === 1)
        return id
      }).pipe(Effect.provide(localLayer(stateDir)))
      assert.deepStrictEqual(processesWith(`sleep ${tag}`), [])
      const op = yield* Effect.provide(Effect.flatMap(ContreeClient, (client) => client.getOperation(id)), localLayer(stateDir))
      assert.strictEqual(op.status, "FAILED")
      assert.match(op.error ?? "", /shut down/)
      assert.deepStrictEqual(readdirSync(join(stateDir, "sandbox", "runs")), [])
      rmSync(stateDir, { recursive: true, force: true })
    }))
})
