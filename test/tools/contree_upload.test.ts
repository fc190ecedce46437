import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeCache } from "../../src/services/ContreeCache.js"
import { ContreeClient, type UploadBody } from "../../src/services/ContreeClient.js"
import { contreeUpload } from "../../src/tools/contree_upload.js"
import { call, callFails, toolServices } from "../support/tools.js"

const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex")

/** A server that knows the hashes in `known`; uploads are recorded. */
const harness = (known: ReadonlyArray<string> = []) => {
  const state = { lookups: [] as Array<string>, uploads: [] as Array<UploadBody>, uuidChecks: [] as Array<string> }
  const client = Layer.mock(ContreeClient, {
    findFileByHash: (sha256) =>
      Effect.sync(() => {
        state.lookups.push(sha256)
        return known.includes(sha256) ? Option.some({ uuid: `existing-${sha256.slice(0, 6)}`, sha256 }) : Option.none()
      }),
    // Like the server, it answers with the hash of what it received.
    uploadFile: (body) =>
      Effect.sync(() => {
        state.uploads.push(body)
        const bytes = body._tag === "Bytes" ? body.bytes : readFileSync(body.path)
        return { uuid: `new-${state.uploads.length}`, sha256: sha(bytes) }
      }),
    fileUuidExists: (uuid) => Effect.sync(() => (state.uuidChecks.push(uuid), true))
  })
  return { state, layer: toolServices({ client }) }
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-upload-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("contree_upload", () => {
  it.effect("needs exactly one of path, content or content_base64", () => {
    const h = harness()
    return Effect.gen(function*() {
      for (const args of [{}, { content: "a", content_base64: "YQ==" }, { path: "/x", content: "a" }, { path: null, content: null }]) {
        const error = yield* callFails(contreeUpload, args)
        assert.strictEqual(error.reason, "InvalidInput", JSON.stringify(args))
        assert.include(error.message, "exactly one of 'path', 'content' or 'content_base64'")
      }
      assert.deepStrictEqual(h.state.lookups, [])
      assert.deepStrictEqual(h.state.uploads, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("uploads new text content as UTF-8 bytes and remembers it", () => {
    const h = harness()
    return Effect.gen(function*() {
      const out = yield* call(contreeUpload, { content: "print('ü')\n" })
      const bytes = Buffer.from("print('ü')\n", "utf8")
      assert.deepStrictEqual(out, { uuid: "new-1", sha256: sha(bytes), size: bytes.length })
      assert.deepStrictEqual(h.state.lookups, [sha(bytes)])
      assert.strictEqual(h.state.uploads.length, 1)
      const body = h.state.uploads[0]!
      assert.strictEqual(body._tag, "Bytes")
      assert.deepStrictEqual(body._tag === "Bytes" ? Buffer.from(body.bytes) : undefined, bytes)
      const cached = yield* Effect.flatMap(ContreeCache, (cache) => cache.get("file_by_hash", sha(bytes)))
      assert.strictEqual((Option.getOrThrow(cached).data as { uuid: string }).uuid, "new-1")
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("deduplicates: the local cache first, then a lookup by hash, and only then an upload", () => {
    const known = sha("already on the server")
    const h = harness([known])
    return Effect.gen(function*() {
      const first = yield* call(contreeUpload, { content: "fresh" })
      const second = yield* call(contreeUpload, { content: "fresh" })
      assert.deepStrictEqual(second, first)
      assert.deepStrictEqual(h.state.lookups, [sha("fresh")])
      assert.strictEqual(h.state.uploads.length, 1)

      const existing = yield* call(contreeUpload, { content: "already on the server" })
      assert.strictEqual(existing["uuid"], `existing-${known.slice(0, 6)}`)
      assert.strictEqual(h.state.uploads.length, 1)
      assert.deepStrictEqual(h.state.lookups, [sha("fresh"), known])
      yield* call(contreeUpload, { content: "already on the server" })
      assert.deepStrictEqual(h.state.lookups, [sha("fresh"), known])
      assert.deepStrictEqual(h.state.uuidChecks, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("decodes content_base64 and refuses invalid base64", () => {
    const h = harness()
    return Effect.gen(function*() {
      const bytes = Uint8Array.from([0, 1, 2, 255])
      const out = yield* call(contreeUpload, { content_base64: Buffer.from(bytes).toString("base64") })
      assert.deepStrictEqual(out, { uuid: "new-1", sha256: sha(bytes), size: 4 })
      const error = yield* callFails(contreeUpload, { content_base64: "not base64!" })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "base64")
      assert.strictEqual(h.state.uploads.length, 1)
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("streams a local file from its path, with its hash and size", () => {
    const h = harness()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "data.bin")
      writeFileSync(path, "file content")
      const out = yield* call(contreeUpload, { path })
      assert.deepStrictEqual(out, { uuid: "new-1", sha256: sha("file content"), size: 12 })
      assert.deepStrictEqual(h.state.uploads, [{ _tag: "File", path, size: 12 }])
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("refuses a relative path, a missing file and a directory", () => {
    const h = harness()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const relative = yield* callFails(contreeUpload, { path: "relative/file.txt" })
      assert.strictEqual(relative.reason, "InvalidInput")
      assert.include(relative.message, "absolute")
      const missing = yield* callFails(contreeUpload, { path: join(dir, "missing.txt") })
      assert.strictEqual(missing.reason, "NotFound")
      assert.include(missing.message, "File not found")
      const directory = yield* callFails(contreeUpload, { path: dir })
      assert.strictEqual(directory.reason, "InvalidInput")
      assert.include(directory.message, "not a regular file")
      assert.deepStrictEqual(h.state.uploads, [])
    }).pipe(Effect.provide(h.layer))
  })
})
