import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { selfIdentity } from "../../../src/local/host/HostProcess.js"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { LocalEngineLive } from "../../../src/local/LocalEngineLive.js"
import { tempDir } from "../support.js"

const DEAD = "999999999:1"

const start = (stateDir: string) => Effect.exit(Effect.provide(LocalEngine, Layer.fresh(LocalEngineLive({ stateDir, baseImages: false }))))

const layersDir = (stateDir: string) => join(stateDir, "sandbox", "layers")

/** Layer directories with a file each, as a committed layer has. */
const makeLayers = (stateDir: string, ids: ReadonlyArray<string>) => {
  for (const id of ids) {
    mkdirSync(join(layersDir(stateDir), id, "etc"), { recursive: true })
    writeFileSync(join(layersDir(stateDir), id, "etc", "image"), id)
  }
}

const withSql = <A, E>(stateDir: string, body: (sql: SqliteClient.SqliteClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqliteClient.SqliteClient, body).pipe(Effect.provide(Layer.fresh(SqliteClient.layer({ filename: join(stateDir, "engine.db") }))), Effect.scoped)

const withState = <A, E>(body: (stateDir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(Effect.sync(tempDir), body, (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))

describe("start-up recovery", () => {
  it.live("an emptied engine.db beside existing layers stops the start, saying what to do; every layer directory stays", () =>
    withState((stateDir) =>
      Effect.gen(function*() {
        assert.isTrue(Exit.isSuccess(yield* start(stateDir)))
        makeLayers(stateDir, ["0123456789ab", "ba9876543210"])
        for (const suffix of ["-wal", "-shm"]) rmSync(join(stateDir, `engine.db${suffix}`), { force: true })
        writeFileSync(join(stateDir, "engine.db"), "")
        for (let attempt = 0; attempt < 2; attempt++) {
          const exit = yield* start(stateDir)
          assert.isTrue(Exit.isFailure(exit))
          const message = Exit.isFailure(exit) ? (Cause.squash(exit.cause) as Error).message : ""
          assert.include(message, `${join(stateDir, "engine.db")} records no image, but ${layersDir(stateDir)} holds 2 layer directories`)
          assert.include(message, "Nothing was changed")
          assert.include(message, "move")
          assert.deepStrictEqual(readdirSync(layersDir(stateDir)).sort(), ["0123456789ab", "ba9876543210"])
          assert.isTrue(existsSync(join(layersDir(stateDir), "0123456789ab", "etc", "image")))
        }
      })))

  it.live("only a layer a dead process staged and no transaction recorded goes; unknown, recorded and live-staged ones stay", () =>
    withState((stateDir) =>
      Effect.gen(function*() {
        assert.isTrue(Exit.isSuccess(yield* start(stateDir)))
        makeLayers(stateDir, ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd"])
        yield* withSql(stateDir, (sql) =>
          Effect.all([
            sql`INSERT INTO layers (id, opaque, created_at) VALUES ('aaaaaaaaaaaa', '[]', 0)`,
            sql`INSERT INTO images (uuid, layers, source, created_at) VALUES ('11111111-2222-4333-8444-555555555555', '["aaaaaaaaaaaa"]', 'run', 0)`,
            // Renamed into place by a process that died before its transaction committed.
            sql`INSERT INTO staged_layers (id, owner, created_at) VALUES ('bbbbbbbbbbbb', ${DEAD}, 0)`,
            // Being renamed by a process that still runs.
            sql`INSERT INTO staged_layers (id, owner, created_at) VALUES ('cccccccccccc', ${selfIdentity()}, 0)`,
            // Staged by a dead process that never renamed it.
            sql`INSERT INTO staged_layers (id, owner, created_at) VALUES ('eeeeeeeeeeee', ${DEAD}, 0)`
          ], { discard: true }))
        assert.isTrue(Exit.isSuccess(yield* start(stateDir)))
        // dddddddddddd: nothing vouches for it either way, so it is kept.
        assert.deepStrictEqual(readdirSync(layersDir(stateDir)).sort(), ["aaaaaaaaaaaa", "cccccccccccc", "dddddddddddd"])
        const staged = yield* withSql(stateDir, (sql) => sql<{ id: string }>`SELECT id FROM staged_layers`)
        assert.deepStrictEqual(staged.map((row) => row.id), ["cccccccccccc"])
      })))

  it.live("a first import cut short between its rename and its commit does not stop the start: its staged layer goes", () =>
    withState((stateDir) =>
      Effect.gen(function*() {
        assert.isTrue(Exit.isSuccess(yield* start(stateDir)))
        makeLayers(stateDir, ["0123456789ab"])
        yield* withSql(stateDir, (sql) => sql`INSERT INTO staged_layers (id, owner, created_at) VALUES ('0123456789ab', ${DEAD}, 0)`)
        assert.isTrue(Exit.isSuccess(yield* start(stateDir)))
        assert.deepStrictEqual(readdirSync(layersDir(stateDir)), [])
      })))
})
