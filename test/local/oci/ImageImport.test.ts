import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Fiber, Option, Stream } from "effect"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import type { IdMapping } from "../../../src/local/host/IdMapping.js"
import { makeImageRecords } from "../../../src/local/store/ImageRecords.js"
import { LocalDatabase } from "../../../src/local/store/LocalDatabase.js"
import { executeImport, type ImportContext, type ImportProgress } from "../../../src/local/oci/ImageImport.js"
import { importBudget } from "../../../src/local/oci/ImportBudget.js"
import { UnpackBudget } from "../../../src/local/oci/LayerUnpack.js"
import type { ImageSource } from "../../../src/local/oci/ImageSource.js"
import { ociLayoutSource } from "../../../src/local/oci/OciLayoutSource.js"
import { rootfsTarballSource } from "../../../src/local/oci/RootfsTarballSource.js"
import { directoryFiles } from "../../../src/local/oci/SourceFiles.js"
import { makeOperationRecords } from "../../../src/local/store/OperationRecords.js"
import { statePaths } from "../../../src/local/store/StatePaths.js"
import { imageConfig, ociLayout, sha256, tarBytes, twoLayers, writeFiles } from "../../support/ociImages.js"

const ids: IdMapping = process.getuid?.() === 0
  ? { uid: 200000, gid: 200000, count: 65536 }
  : { uid: process.getuid!(), gid: process.getgid!(), count: 1 }

/** The import pipeline over a fresh state directory, without the rest of the engine. */
const withStore = <A, E>(body: (ctx: ImportContext, work: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-import-"))),
    (dir) =>
      Effect.gen(function*() {
        const paths = statePaths(join(dir, "state"))
        for (const sub of [paths.root, paths.layers, paths.tmp]) mkdirSync(sub, { recursive: true })
        const sql = yield* SqlClient.SqlClient
        const ctx: ImportContext = {
          paths,
          ids,
          sql,
          images: makeImageRecords(sql),
          operations: makeOperationRecords(sql),
          settled: () => Effect.void,
          budget: () => undefined
        }
        return yield* body(ctx, dir)
      }).pipe(Effect.provide(LocalDatabase(join(dir, "engine.db")))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** Records which blobs the pipeline asked the source for. */
const counting = (source: ImageSource) => {
  const fetched: Array<string> = []
  const counted: ImageSource = {
    ...source,
    blob: (descriptor) => Stream.suspend(() => (fetched.push(descriptor.digest), source.blob(descriptor)))
  }
  return { source: counted, fetched }
}

/** Runs one import as an EXECUTING operation; its outcome row. */
const runImport = (ctx: ImportContext, source: ImageSource, progress: ImportProgress = { done: 0, total: 0 }) =>
  Effect.gen(function*() {
    const id = crypto.randomUUID()
    const metadata = { registry: { url: source.name }, tag: null, timeout: 300 }
    yield* ctx.operations.insert({
      uuid: id, kind: "image_import", status: "PENDING", error: null, image: null, resultImage: null, metadata,
      owner: "test", sandbox: null, createdAt: Date.now(), finishedAt: null
    })
    yield* ctx.operations.start(id)
    yield* Effect.scoped(executeImport(ctx, { id, source, tag: null, metadata, progress }))
    return Option.getOrThrow(yield* ctx.operations.get(id))
  })

const layoutSource = (work: string, name: string, layout: ReturnType<typeof ociLayout>) => {
  const dir = join(work, name)
  writeFiles(layout.files, dir)
  return { dir, source: ociLayoutSource(`oci:${dir}`, directoryFiles(dir), undefined) }
}

/** Nothing of a failed or cancelled import stays: no layer directory, no image row, nothing staged. */
const leftNothing = (ctx: ImportContext) =>
  Effect.gen(function*() {
    assert.deepStrictEqual(readdirSync(ctx.paths.layers), [])
    assert.deepStrictEqual(readdirSync(ctx.paths.tmp), [])
    assert.deepStrictEqual(yield* ctx.sql`SELECT uuid FROM images`, [])
    assert.deepStrictEqual(yield* ctx.sql`SELECT digest FROM layer_blobs`, [])
  })

describe("executeImport", () => {
  it.effect("fetches no layer blob that an earlier import already unpacked", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const layers = yield* Effect.promise(twoLayers)
        const first = yield* runImport(ctx, layoutSource(work, "a", ociLayout({ layers, config: imageConfig() })).source)
        assert.strictEqual(first.status, "SUCCESS")
        const other = counting(layoutSource(work, "b", ociLayout({ layers, config: imageConfig({ Env: ["OTHER=1"] }) })).source)
        const progress = { done: 0, total: 0 }
        const second = yield* runImport(ctx, other.source, progress)
        assert.strictEqual(second.status, "SUCCESS")
        assert.notStrictEqual(second.resultImage, first.resultImage)
        assert.deepStrictEqual(other.fetched.filter((digest) => layers.some((layer) => sha256(layer) === digest)), [])
        assert.strictEqual(progress.total, 0)
        const images = makeImageRecords(ctx.sql)
        const a = Option.getOrThrow(yield* images.get(first.resultImage!))
        const b = Option.getOrThrow(yield* images.get(second.resultImage!))
        assert.deepStrictEqual(b.layers, a.layers)
        assert.strictEqual(readdirSync(ctx.paths.layers).length, 2)
        assert.deepStrictEqual(b.defaults?.env, ["OTHER=1"])
      })))

  it.effect("gives back the image of a manifest imported before, fetching nothing", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const layout = ociLayout({ layers: yield* Effect.promise(twoLayers), config: imageConfig() })
        const { source } = layoutSource(work, "a", layout)
        const first = yield* runImport(ctx, source)
        const again = counting(source)
        const second = yield* runImport(ctx, again.source)
        assert.strictEqual(second.status, "SUCCESS")
        assert.strictEqual(second.resultImage, first.resultImage)
        assert.deepStrictEqual(again.fetched, [])
        const image = Option.getOrThrow(yield* makeImageRecords(ctx.sql).get(first.resultImage!))
        assert.strictEqual(image.manifest, layout.manifestDigest)
      })))

  it.effect("counts a rootfs tarball's bytes in its progress twice: hashed to name its layer, then unpacked", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const path = join(work, "rootfs.tar")
        writeFileSync(path, yield* Effect.promise(() => tarBytes([{ name: "etc/", type: "directory" }, { name: "etc/hostname", content: "box" }])))
        const size = readFileSync(path).length
        /** Progress that keeps every total it is given. */
        const recording = () => {
          const totals: Array<number> = []
          let total = 0
          return {
            totals,
            progress: {
              done: 0,
              get total() {
                return total
              },
              set total(value: number) {
                totals.push(value)
                total = value
              }
            }
          }
        }
        const first = recording()
        assert.strictEqual((yield* runImport(ctx, rootfsTarballSource(`tarball:${path}`, path), first.progress)).status, "SUCCESS")
        assert.deepStrictEqual({ ...first.progress }, { done: 2 * size, total: 2 * size })
        // The whole of it from the start: the hashing pass never shows as all there is.
        assert.deepStrictEqual(first.totals, [2 * size, 2 * size])
        // Imported before: hashed to find the image again, and nothing unpacked.
        const again = recording()
        assert.strictEqual((yield* runImport(ctx, rootfsTarballSource(`tarball:${path}`, path), again.progress)).status, "SUCCESS")
        assert.deepStrictEqual({ ...again.progress }, { done: size, total: size })
        assert.deepStrictEqual(again.totals, [2 * size, size])
      })))

  it.effect("stops a gzip bomb at the import cap, leaving nothing", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const MiB = 1024 * 1024
        const bomb = gzipSync(yield* Effect.promise(() => tarBytes([{ name: "zeros", content: Buffer.alloc(64 * MiB) }])))
        assert.isBelow(bomb.length, MiB)
        const capped = { ...ctx, budget: () => new UnpackBudget(16 * MiB, "the test's cap") }
        const error = yield* Effect.flip(runImport(capped, layoutSource(work, "a", ociLayout({ layers: [bomb], config: imageConfig() })).source))
        assert.include(error.message, `the image unpacks to more than ${16 * MiB} bytes, the most an import may write (the test's cap)`)
        yield* leftNothing(ctx)
      })))

  it.effect("counts the cap over all the layers of an image, entries included", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const layer = (name: string) => tarBytes([{ name, content: Buffer.alloc(3000) }])
        const layers = [yield* Effect.promise(() => layer("a")), yield* Effect.promise(() => layer("b"))]
        // One layer fits (3000 bytes and an entry of 512), two do not.
        const capped = { ...ctx, budget: () => new UnpackBudget(5000, "cap") }
        const error = yield* Effect.flip(runImport(capped, layoutSource(work, "a", ociLayout({ layers, config: imageConfig() })).source))
        assert.include(error.message, "unpacks to more than 5000 bytes")
        yield* leftNothing(ctx)
        const roomy = { ...ctx, budget: () => new UnpackBudget(8000, "cap") }
        const done = yield* runImport(roomy, layoutSource(work, "b", ociLayout({ layers, config: imageConfig() })).source)
        assert.strictEqual(done.status, "SUCCESS")
      })))

  it("takes the cap from the setting, or from the free space less a margin", () => {
    const GiB = 1024 ** 3
    const MiB = 1024 * 1024
    const space = (free: number, total: number) => () => ({ free, total })
    assert.isUndefined(importBudget(null, space(0, 0)))
    assert.strictEqual(importBudget(12345, space(0, 0))?.limit, 12345)
    // A tenth of the filesystem stays free, at most 1 GiB; never below zero.
    assert.strictEqual(importBudget("free-space", space(10 * GiB, 100 * GiB))?.limit, 9 * GiB)
    assert.strictEqual(importBudget("free-space", space(50 * MiB, 100 * MiB))?.limit, 40 * MiB)
    assert.strictEqual(importBudget("free-space", space(5 * MiB, 100 * MiB))?.limit, 0)
  })

  it.effect("fails on a blob that does not match its digest, leaving nothing", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const layers = yield* Effect.promise(twoLayers)
        const { dir, source } = layoutSource(work, "a", ociLayout({ layers, config: imageConfig() }))
        // Same size, one byte changed: only the digest can tell.
        const blob = join(dir, "blobs/sha256", sha256(layers[1]!).slice(7))
        const bytes = readFileSync(blob)
        bytes[bytes.length - 1] ^= 0xff
        writeFileSync(blob, bytes)
        const error = yield* Effect.flip(runImport(ctx, source))
        assert.include(error.message, `blob ${sha256(layers[1]!)} does not match its digest`)
        yield* leftNothing(ctx)
      })))

  it.live("leaves nothing when cancelled in the middle of a layer", () =>
    withStore((ctx, work) =>
      Effect.gen(function*() {
        const layers = yield* Effect.promise(twoLayers)
        const { source } = layoutSource(work, "a", ociLayout({ layers, config: imageConfig() }))
        // The second layer's blob stalls after its first bytes, as a slow download would.
        const stalling: ImageSource = {
          ...source,
          blob: (descriptor) =>
            descriptor.digest === sha256(layers[1]!)
              ? Stream.concat(Stream.make(new Uint8Array(layers[1]!.subarray(0, 10))), Stream.never)
              : source.blob(descriptor)
        }
        const progress = { done: 0, total: 0 }
        const fiber = yield* Effect.fork(runImport(ctx, stalling, progress))
        while (progress.done <= layers[0]!.length) yield* Effect.sleep("10 millis")
        yield* Fiber.interrupt(fiber)
        yield* leftNothing(ctx)
      })))
})
