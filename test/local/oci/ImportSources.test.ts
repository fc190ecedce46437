import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import type { Operation } from "../../../src/domain/Operation.js"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import {
  dockerArchive,
  imageConfig,
  ociLayout,
  tarBytes,
  tarOfFiles,
  twoLayers,
  writeFiles
} from "../../support/ociImages.js"
import { localLayer, withLocal } from "../support.js"

const work = mkdtempSync(join(tmpdir(), "contree-sources-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const importUrl = (url: string, tag?: string) =>
  Effect.gen(function*() {
    const client = yield* ContreeClient
    const engine = yield* LocalEngine
    const id = yield* client.importImage({ registry: { url }, ...(tag === undefined ? {} : { tag }), timeout: 300 })
    return yield* engine.awaitOperation(id)
  })

const text = (uuid: string, path: string) =>
  Effect.flatMap(ContreeClient, (client) => client.readFile(uuid, path)).pipe(Effect.map((bytes) => Buffer.from(bytes).toString("utf8")))

const names = (uuid: string, path: string) =>
  Effect.flatMap(ContreeClient, (client) => client.listDirectory(uuid, path)).pipe(Effect.map((listing) => listing.files.map((f) => f.path)))

/** What the two test layers leave: the second deleted a file, added one and made /etc/conf.d opaque. */
const checkTwoLayers = (op: Operation) =>
  Effect.gen(function*() {
    assert.strictEqual(op.status, "SUCCESS", op.error ?? "")
    assert.strictEqual(op.kind, "image_import")
    const image = op.resultImage!
    assert.strictEqual(yield* text(image, "/etc/kept.txt"), "kept")
    assert.strictEqual(yield* text(image, "/etc/added.txt"), "added")
    assert.deepStrictEqual(yield* names(image, "/etc"), ["added.txt", "conf.d", "kept.txt"])
    assert.deepStrictEqual(yield* names(image, "/etc/conf.d"), ["new.conf"])
    assert.strictEqual(yield* text(image, "/bin/hello"), "#!/bin/sh\necho hello\n")
    return image
  })

describe("importing local sources", () => {
  it.live("oci-archive: a tar of an OCI layout, the named ref, the host's platform of its index", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const layout = ociLayout({ layers: yield* Effect.promise(twoLayers), config: imageConfig() }, "v1")
        const path = join(work, "image.oci.tar")
        writeFileSync(path, yield* Effect.promise(() => tarOfFiles(layout.files)))
        const op = yield* importUrl(`oci-archive:${path}:v1`, "test/oci:1")
        yield* checkTwoLayers(op)
        assert.deepStrictEqual(op.result?.tag, "test/oci:1")
        assert.deepStrictEqual(op.importMetadata?.registry.url, `oci-archive:${path}:v1`)
        const missing = yield* importUrl(`oci-archive:${path}:v2`)
        assert.strictEqual(missing.status, "FAILED")
        assert.include(missing.error, "no image named 'v2' (the layout names 'v1')")
      }), { baseImages: false }))

  it.live("oci: an OCI layout directory", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const layout = ociLayout({ layers: yield* Effect.promise(twoLayers), config: imageConfig() })
        const dir = join(work, "layout")
        writeFiles(layout.files, dir)
        yield* checkTwoLayers(yield* importUrl(`oci:${dir}`))
      }), { baseImages: false }))

  it.live("docker-archive: what docker save writes, picked by its tag", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const layers = (yield* Effect.promise(twoLayers)).map((layer) => gunzipSync(layer))
        const path = join(work, "saved.tar")
        writeFileSync(path, yield* Effect.promise(() => tarOfFiles(dockerArchive(layers, imageConfig(), "example/app:1"))))
        yield* checkTwoLayers(yield* importUrl(`docker-archive:${path}:example/app:1`))
        yield* checkTwoLayers(yield* importUrl(`docker-archive:${path}`))
      }), { baseImages: false }))

  it.live("tarball: a root filesystem tar as a one-layer image", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const path = join(work, "rootfs.tar.gz")
        writeFileSync(path, gzipSync(yield* Effect.promise(() => tarBytes([{ name: "etc/os-release", content: "ID=test\n" }]))))
        const op = yield* importUrl(`tarball:${path}`)
        assert.strictEqual(op.status, "SUCCESS", op.error ?? "")
        assert.strictEqual(yield* text(op.resultImage!, "/etc/os-release"), "ID=test\n")
      }), { baseImages: false }))

  it.live("at start-up, an import a crash left EXECUTING fails and its staged layers go", () =>
    Effect.gen(function*() {
      const stateDir = join(work, "crashed")
      yield* Effect.provide(Effect.void, localLayer(stateDir, { baseImages: false }))
      const id = "21111111-2222-4333-8444-555555555555"
      yield* Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        const metadata = JSON.stringify({ registry: { url: "oci-archive:/srv/a.tar" }, tag: null, timeout: 300 })
        yield* sql`INSERT INTO operations (uuid, kind, status, error, image, result_image, metadata, owner, sandbox, created_at, finished_at)
          VALUES (${id}, 'image_import', 'EXECUTING', NULL, NULL, NULL, ${metadata}, '999999999:1', NULL, ${Date.now()}, NULL)`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: join(stateDir, "engine.db") })))
      const staged = join(stateDir, "tmp", `999999999-import-${id}`, "0123456789ab", "etc")
      mkdirSync(staged, { recursive: true })
      writeFileSync(join(staged, "half"), "half-written")

      const op = yield* Effect.provide(Effect.flatMap(ContreeClient, (client) => client.getOperation(id)), localLayer(stateDir, { baseImages: false }))
      assert.strictEqual(op.status, "FAILED")
      assert.strictEqual(op.kind, "image_import")
      assert.match(op.error ?? "", /interrupted/)
      assert.deepStrictEqual(readdirSync(join(stateDir, "tmp")), [])
      assert.deepStrictEqual(readdirSync(join(stateDir, "sandbox", "layers")), [])
    }))

  it.live("whoami says the local backend imports", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const whoami = yield* Effect.flatMap(ContreeClient, (client) => client.whoami)
        assert.deepStrictEqual(whoami["permissions"], {
          list: true,
          spawn: true,
          spawn_disposable: true,
          cancel: true,
          import: true,
          set_image_tag: true
        })
      }), { baseImages: false }))

  it.live("refuses relative paths and missing files at once", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const relative = yield* Effect.flip(client.importImage({ registry: { url: "oci-archive:image.tar" }, timeout: 300 }))
        assert.strictEqual(relative.reason, "InvalidRequest")
        assert.include(relative.message, "needs an absolute path")
        const missing = yield* Effect.flip(client.importImage({ registry: { url: `docker-archive:${work}/nope.tar` }, timeout: 300 }))
        assert.strictEqual(missing.reason, "NotFound")
      }), { baseImages: false }))
})
