import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { prepareStateDir } from "../../../src/local/LocalEngineLive.js"
import { statePaths } from "../../../src/local/store/StatePaths.js"
import { busybox, describeSandbox, exitCode, request, run, stdout, tempDir, withLocal } from "../support.js"

const modeOf = (path: string) => statSync(path).mode & 0o7777

describe("the state directory's modes", () => {
  it.effect("an older directory is fixed: root 0700, databases and uploads 0600, sandbox directories moved under sandbox/", () =>
    Effect.gen(function*() {
      const root = tempDir()
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(root, { recursive: true, force: true })))
      chmodSync(root, 0o755)
      for (const name of ["engine.db", "engine.db-wal", "engine.db-shm", "cache.db", "cache.db-wal", "files.db"]) writeFileSync(join(root, name), "", { mode: 0o644 })
      mkdirSync(join(root, "blobs", "ab"), { recursive: true, mode: 0o755 })
      writeFileSync(join(root, "blobs", "ab", "abcd"), "secret", { mode: 0o644 })
      mkdirSync(join(root, "layers", "0123456789ab"), { recursive: true })
      mkdirSync(join(root, "runtime"), { mode: 0o755 })
      const paths = statePaths(root)
      yield* prepareStateDir(paths)
      assert.strictEqual(modeOf(root), 0o700)
      for (const name of ["engine.db", "engine.db-wal", "engine.db-shm", "cache.db", "cache.db-wal", "files.db"]) {
        assert.strictEqual(modeOf(join(root, name)), 0o600, name)
      }
      assert.strictEqual(modeOf(join(root, "blobs")), 0o700)
      assert.strictEqual(modeOf(join(root, "blobs", "ab")), 0o700)
      assert.strictEqual(modeOf(join(root, "blobs", "ab", "abcd")), 0o600)
      assert.deepStrictEqual(readdirSync(paths.layers), ["0123456789ab"])
      assert.isFalse(existsSync(join(root, "layers")))
      assert.isFalse(existsSync(join(root, "runtime")))
      for (const dir of [paths.sandbox, paths.layers, paths.runs, paths.runtime]) assert.strictEqual(modeOf(dir), 0o711, dir)
      for (const dir of [paths.links, paths.tmp]) assert.strictEqual(modeOf(dir), 0o700, dir)
    }).pipe(Effect.scoped))

  it.live("a new engine's database, its -wal and -shm, and an upload are 0600 in a 0700 root", () =>
    withLocal((root) =>
      Effect.gen(function*() {
        const engine = yield* LocalEngine
        const file = yield* engine.uploadFile({ _tag: "Bytes", bytes: new TextEncoder().encode("a token") })
        for (const name of ["engine.db", "engine.db-wal", "engine.db-shm"]) assert.strictEqual(modeOf(join(root, name)), 0o600, name)
        assert.strictEqual(modeOf(root), 0o700)
        assert.strictEqual(modeOf(join(root, "blobs", file.sha256.slice(0, 2))), 0o700)
        assert.strictEqual(modeOf(join(root, "blobs", file.sha256.slice(0, 2), file.sha256)), 0o600)
      }), { baseImages: false }))
})

describeSandbox("runs under a 0700 state directory", () => {
  it.live("a run that keeps its changes commits them, as the server's user or as root", () =>
    withLocal((root) =>
      Effect.gen(function*() {
        assert.strictEqual(modeOf(root), 0o700)
        const first = yield* run(request(yield* busybox, "echo kept > /kept", { disposable: false }))
        assert.strictEqual(exitCode(first), 0)
        const second = yield* run(request(first.resultImage!, "cat /kept"))
        assert.strictEqual(stdout(second), "kept\n")
      })))
})

