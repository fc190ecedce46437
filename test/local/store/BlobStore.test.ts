import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeBlobStore } from "../../../src/local/store/BlobStore.js"
import { LocalDatabase } from "../../../src/local/store/LocalDatabase.js"
import { blobPath, statePaths } from "../../../src/local/store/StatePaths.js"
import type { HostFile } from "../../../src/services/HostFileStore.js"
import { tempDir } from "../../support/tree.js"

const sha = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex")

/** A blob store over a fresh state directory, and a source directory beside it. */
const setUp = Effect.gen(function*() {
  const state = yield* tempDir("contree-blobs-")
  const source = yield* tempDir("contree-blobs-src-")
  const paths = statePaths(state)
  mkdirSync(paths.tmp, { recursive: true })
  mkdirSync(paths.blobs, { recursive: true })
  const sql = Context.get(yield* Layer.build(LocalDatabase(paths.database)), SqlClient.SqlClient)
  const host = (name: string, content: string | Uint8Array): HostFile => {
    const path = join(source, name)
    writeFileSync(path, content)
    const stats = statSync(path, { bigint: true })
    return { path, size: Number(stats.size), mtimeNs: stats.mtimeNs }
  }
  const rows = sql`SELECT sha256 FROM files`.values.pipe(Effect.map((r) => r.map(([s]) => String(s)).sort()), Effect.orDie)
  return { store: makeBlobStore(sql, paths), paths, host, rows, source }
})

describe("BlobStore.storeHostFiles", () => {
  it.scoped("stores each distinct content once, bytes and rows, small and large; what is stored already is not written again", () =>
    Effect.gen(function*() {
      const { store, paths, host, rows } = yield* setUp
      const large = randomBytes(300 * 1024)
      const files = [host("a", "same"), host("b", "same"), host("c", "other"), host("big", large), host("empty", "")]
      const events: Array<{ readonly phase: string; readonly files: number; readonly bytes: number }> = []
      const results = yield* store.storeHostFiles(files, (event) => Effect.sync(() => void events.push(event)))
      const contents = ["same", "same", "other", large, ""]
      results.forEach((result, i) => {
        assert.strictEqual(result._tag, "Stored")
        if (result._tag !== "Stored") return
        assert.strictEqual(result.file.sha256, sha(contents[i]!))
        assert.isTrue(result.isNew)
        assert.deepStrictEqual(readFileSync(blobPath(paths, result.file.sha256)), Buffer.from(contents[i]!))
      })
      assert.strictEqual((results[0] as { file: { uuid: string } }).file.uuid, (results[1] as { file: { uuid: string } }).file.uuid)
      assert.deepStrictEqual(yield* rows, [sha("same"), sha("other"), sha(large), sha("")].sort())
      // Every byte is reported read, then stored.
      for (const phase of ["hashed", "stored"]) {
        const of = events.filter((e) => e.phase === phase)
        assert.strictEqual(of.reduce((sum, e) => sum + e.files, 0), 5, phase)
        assert.strictEqual(of.reduce((sum, e) => sum + e.bytes, 0), 4 + 4 + 5 + large.length, phase)
      }
      // The staging directory is gone.
      assert.deepStrictEqual(readdirSync(paths.tmp), [])

      const again = yield* store.storeHostFiles([host("d", "other"), host("e", "new")])
      assert.deepStrictEqual(again.map((r) => r._tag === "Stored" && r.isNew), [false, true])
      assert.strictEqual((again[0] as { file: { uuid: string } }).file.uuid, (results[2] as { file: { uuid: string } }).file.uuid)
    }))

  it.scoped("a file that vanished is reported, and a file changed since its stat is not stored", () =>
    Effect.gen(function*() {
      const { store, paths, host, rows } = yield* setUp
      const kept = host("kept", "kept")
      const edited = host("edited", "before")
      const bigEdited = host("big", randomBytes(100 * 1024))
      // Edited after the walk's stat: another mtime (and size) than the one the sync knows.
      writeFileSync(edited.path, "after, longer")
      writeFileSync(bigEdited.path, randomBytes(100 * 1024))
      utimesSync(bigEdited.path, new Date(1_000_000), new Date(1_000_000))
      const results = yield* store.storeHostFiles([
        kept,
        { path: join(paths.root, "missing"), size: 3, mtimeNs: 0n },
        edited,
        bigEdited
      ])
      assert.deepStrictEqual(results.map((r) => r._tag), ["Stored", "Unreadable", "Changed", "Changed"])
      const vanished = results[1]!
      assert.strictEqual(vanished._tag === "Unreadable" && (vanished.error as { code?: string }).code, "ENOENT")
      assert.deepStrictEqual(yield* rows, [sha("kept")])
      assert.isFalse(existsSync(blobPath(paths, sha("after, longer"))))
    }))

  it.scoped("a failure while moving the bytes into place leaves neither row nor file", () =>
    Effect.gen(function*() {
      const { store, paths, host, rows } = yield* setUp
      const files = ["one", "two", "three"].map((content) => host(content, content))
      // Something that is not a blob where the last content must go: its rename fails.
      const blocked = blobPath(paths, sha("three"))
      mkdirSync(join(blocked, "in-the-way"), { recursive: true })
      const error = yield* Effect.flip(store.storeHostFiles(files))
      assert.strictEqual(error.reason, "Internal")
      assert.deepStrictEqual(yield* rows, [])
      for (const content of ["one", "two"]) assert.isFalse(existsSync(blobPath(paths, sha(content))), content)
      assert.deepStrictEqual(readdirSync(paths.tmp), [])
    }))

  it.scoped("a single upload goes through the same commit: stored once, found the second time", () =>
    Effect.gen(function*() {
      const { store, paths, rows } = yield* setUp
      const first = yield* store.upload({ _tag: "Bytes", bytes: Buffer.from("hello") })
      const second = yield* store.upload({ _tag: "Bytes", bytes: Buffer.from("hello") })
      assert.strictEqual(first.uuid, second.uuid)
      assert.strictEqual(readFileSync(blobPath(paths, sha("hello")), "utf8"), "hello")
      assert.deepStrictEqual(yield* rows, [sha("hello")])
      assert.deepStrictEqual(readdirSync(paths.tmp), [])
    }))
})
