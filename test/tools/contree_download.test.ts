import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { contreeDownload } from "../../src/tools/contree_download.js"
import { IMAGE } from "../support/fixtures.js"
import { apiError, call, callFails, toolServices } from "../support/tools.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-download-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const chunks = (...parts: ReadonlyArray<string>) => Stream.fromIterable(parts.map((p) => new Uint8Array(Buffer.from(p))))

const harness = (stream: Stream.Stream<Uint8Array, ReturnType<typeof apiError>>) => {
  const downloads: Array<string> = []
  const client = Layer.mock(ContreeClient, {
    downloadFile: (uuid, path) => Stream.suspend(() => (downloads.push(`${uuid}:${path}`), stream))
  })
  return { downloads, layer: toolServices({ client }) }
}

describe("contree_download", () => {
  it.effect("rejects a relative destination before any request", () => {
    const h = harness(chunks("x"))
    return Effect.gen(function*() {
      for (const destination of ["out.bin", "./out.bin", "../out.bin"]) {
        const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/bin/ls", destination })
        assert.strictEqual(error.reason, "InvalidInput")
        assert.include(error.message, "absolute path")
      }
      assert.deepStrictEqual(h.downloads, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("writes the whole file, creating missing directories, and leaves no temporary file", () => {
    const h = harness(chunks("hello ", "", "world\n"))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "a", "b", "out.txt")
      const out = yield* call(contreeDownload, { image: IMAGE, path: "etc/../etc/motd", destination })
      assert.deepStrictEqual(out, {
        success: true,
        source: { image: IMAGE, path: "/etc/motd" },
        destination,
        size: 12,
        executable: false
      })
      assert.strictEqual(readFileSync(destination, "utf8"), "hello world\n")
      assert.deepStrictEqual(readdirSync(join(dir, "a", "b")), ["out.txt"])
      assert.deepStrictEqual(h.downloads, [`${IMAGE}:/etc/motd`])
      assert.strictEqual(statSync(destination).mode & 0o111, 0)
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("overwrites an existing file and sets the execute bit when asked", () => {
    const h = harness(chunks("#!/bin/sh\n"))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "tool")
      writeFileSync(destination, "old content that is longer")
      const out = yield* call(contreeDownload, { image: IMAGE, path: "/usr/bin/tool", destination, executable: true })
      assert.isTrue(out["executable"])
      assert.strictEqual(readFileSync(destination, "utf8"), "#!/bin/sh\n")
      assert.notStrictEqual(statSync(destination).mode & 0o100, 0)
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("keeps an existing destination and leaves no temporary file when the stream fails midway", () => {
    const h = harness(chunks("partial ", "data").pipe(Stream.concat(Stream.fail(apiError("Transport", "download interrupted")))))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "keep.txt")
      writeFileSync(destination, "original")
      const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/big", destination })
      assert.include(error.message, "download interrupted")
      assert.strictEqual(readFileSync(destination, "utf8"), "original")
      assert.deepStrictEqual(readdirSync(dir), ["keep.txt"])
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("creates nothing when the file does not exist in the image", () => {
    const h = harness(Stream.fail(apiError("NotFound", "no such file", 404)))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "missing.txt")
      const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/nope", destination })
      assert.strictEqual(error.reason, "NotFound")
      assert.isFalse(existsSync(destination))
      assert.deepStrictEqual(readdirSync(dir), [])
    }).pipe(Effect.provide(h.layer))
  })
})
