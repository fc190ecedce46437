import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { dockerArchiveSource } from "../../../src/local/oci/DockerArchiveSource.js"
import { hostPlatform } from "../../../src/local/oci/Manifest.js"
import { ociLayoutSource } from "../../../src/local/oci/OciLayoutSource.js"
import { directoryFiles, tarFiles } from "../../../src/local/oci/SourceFiles.js"
import { dockerArchive, imageConfig, ociLayout, sha256, tarOfFiles, writeFiles } from "../../support/ociImages.js"

const work = mkdtempSync(join(tmpdir(), "contree-sourcedocs-"))
let counter = 0

/** A layout whose index.json lists the given entries directly (no nested index). */
const flatLayout = (entries: ReadonlyArray<{ readonly platform?: { os: string; architecture: string }; readonly ref?: string }>) => {
  const files = new Map<string, Buffer>()
  const manifests = entries.map((entry, i) => {
    const image = ociLayout({ layers: [Buffer.from(`layer ${i}`)], config: imageConfig() })
    for (const [path, bytes] of image.files) if (path.startsWith("blobs/")) files.set(path, bytes)
    const manifest = files.get(`blobs/sha256/${image.manifestDigest.slice(7)}`)!
    return {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: image.manifestDigest,
      size: manifest.length,
      ...(entry.platform === undefined ? {} : { platform: entry.platform }),
      ...(entry.ref === undefined ? {} : { annotations: { "org.opencontainers.image.ref.name": entry.ref } })
    }
  })
  files.set("index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })))
  const dir = join(work, `layout${++counter}`)
  writeFiles(files, dir)
  return { dir, digests: manifests.map((m) => m.digest) }
}

const resolveIn = (dir: string, ref?: string) => ociLayoutSource(`oci:${dir}`, directoryFiles(dir), ref).resolve

describe("local source documents", () => {
  it.effect("a flat index.json with two platforms: the host's is chosen", () =>
    Effect.gen(function*() {
      const other = { os: "linux", architecture: hostPlatform().architecture === "riscv64" ? "amd64" : "riscv64" }
      const layout = flatLayout([{ platform: other }, { platform: hostPlatform() }])
      const resolved = yield* resolveIn(layout.dir)
      assert.strictEqual(resolved.manifestDigest, layout.digests[1])
    }))

  it.effect("several images without platforms need a ref, and the error lists the refs", () =>
    Effect.gen(function*() {
      const layout = flatLayout([{ ref: "a" }, { ref: "b" }])
      const error = yield* Effect.flip(resolveIn(layout.dir))
      assert.include(error.message, "holds 2 images; name one with ':REF' (a, b)")
      assert.strictEqual((yield* resolveIn(layout.dir, "b")).manifestDigest, layout.digests[1])
    }))

  it.effect("refuses a digest that is not one, rather than reading a path of the archive's choosing", () =>
    Effect.gen(function*() {
      const dir = join(work, "evil")
      writeFiles(new Map([["index.json", Buffer.from(JSON.stringify({
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:../../../etc/passwd", size: 10 }]
      }))]]), dir)
      const error = yield* Effect.flip(resolveIn(dir))
      assert.include(error.message, "is not a sha256 or sha512 digest")
    }))

  it.effect("docker-archive: picks an image by tag, and says which tags there are when none is given", () =>
    Effect.gen(function*() {
      const first = dockerArchive([Buffer.from("one")], imageConfig(), "app:1")
      const second = dockerArchive([Buffer.from("two")], imageConfig({ Env: ["X=2"] }), "app:2")
      const entries = [...JSON.parse(first.get("manifest.json")!.toString()), ...JSON.parse(second.get("manifest.json")!.toString())]
      const files = new Map([...first, ...second, ["manifest.json", Buffer.from(JSON.stringify(entries))]])
      const path = join(work, "two-images.tar")
      writeFileSync(path, yield* Effect.promise(() => tarOfFiles(files)))
      const archive = yield* Effect.promise(() => tarFiles(path))
      const error = yield* Effect.flip(dockerArchiveSource("docker-archive", archive, undefined).resolve)
      assert.include(error.message, "holds 2 images; name one with ':REPO:TAG' (app:1, app:2)")
      const chosen = yield* dockerArchiveSource("docker-archive", archive, "app:2").resolve
      assert.deepStrictEqual(chosen.layers.map((layer) => layer.digest), [sha256(Buffer.from("two"))])
    }))
})
