import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { sha256File } from "../../src/files/sha256File.js"
import { tempDir } from "../support/tree.js"

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")

describe("sha256File", () => {
  it.scoped("hashes small files in one read and large ones streamed, with or without a size hint", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      for (const size of [0, 1, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 7]) {
        const bytes = randomBytes(size)
        const path = join(dir, `f${size}`)
        writeFileSync(path, bytes)
        assert.deepStrictEqual(yield* sha256File(path, size), { sha256: sha(bytes), size }, `hinted ${size}`)
        assert.deepStrictEqual(yield* sha256File(path), { sha256: sha(bytes), size }, `unhinted ${size}`)
      }
    }))

  it.scoped("a file that grew past its hint is still hashed whole", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const bytes = randomBytes(200 * 1024)
      writeFileSync(join(dir, "grown"), bytes)
      assert.deepStrictEqual(yield* sha256File(join(dir, "grown"), 10), { sha256: sha(bytes), size: bytes.length })
    }))

  it.effect("a missing file fails with the system's code", () =>
    Effect.gen(function*() {
      for (const hint of [10, undefined]) {
        const error = yield* Effect.flip(sha256File("/nonexistent/contree-file", hint))
        assert.strictEqual("code" in error ? error.code : undefined, "ENOENT")
      }
    }))
})
