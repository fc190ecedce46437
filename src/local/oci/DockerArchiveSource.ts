import { Effect, Schema, Stream } from "effect"
import type { LocalEngineError } from "../LocalEngineError.js"
import { digestOf } from "./Digest.js"
import type { ImageSource, ResolvedImage } from "./ImageSource.js"
import { type Descriptor, MediaType } from "./Manifest.js"
import { decodeDocument, memberStream, readDocument, sourceError, type SourceFiles } from "./SourceFiles.js"

/** manifest.json of `docker save`: one entry per image, with paths inside the archive. */
const SaveManifest = Schema.Array(Schema.Struct({
  Config: Schema.String,
  RepoTags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  Layers: Schema.Array(Schema.String)
}))

const DiffIds = Schema.Struct({ rootfs: Schema.Struct({ diff_ids: Schema.Array(Schema.String) }) })

/** Docker ≥ 25 names members by digest; older versions write `<id>/layer.tar`, whose digest is the config's diff_id. */
const DIGEST_PATH = /^blobs\/(sha256)\/([0-9a-f]{64})$/


/** The image a `RepoTags` entry names: `alpine` means `alpine:latest`, as `docker save alpine` wrote it. */
const sameTag = (wanted: string, tag: string) => tag === wanted || tag === `${wanted}:latest`

/**
 * What `docker save` writes: manifest.json, a config and a tar per layer (uncompressed). The
 * archive has no manifest in the registry's sense, so the import's identity is the digest of its
 * config and layer digests. `ref` (`repo:tag`) picks an image of a multi-image archive.
 */
export const dockerArchiveSource = (name: string, files: SourceFiles, ref: string | undefined): ImageSource => {
  const members = new Map<string, string>()
  const configs = new Map<string, Buffer>()

  const resolve: Effect.Effect<ResolvedImage, LocalEngineError> = Effect.tryPromise({
    try: async () => {
      const images = decodeDocument(SaveManifest, await readDocument(files, "manifest.json"), "manifest.json")
      const tags = images.flatMap((image) => image.RepoTags ?? [])
      const candidates = ref === undefined ? images : images.filter((image) => (image.RepoTags ?? []).some((tag) => sameTag(ref, tag)))
      if (candidates.length !== 1) {
        const named = tags.length === 0 ? "no tags" : tags.join(", ")
        throw new Error(
          candidates.length === 0
            ? ref === undefined ? "manifest.json lists no image" : `no image tagged '${ref}' (the archive has ${named})`
            : `the archive holds ${candidates.length} images; name one with ':REPO:TAG' (${named})`
        )
      }
      const image = candidates[0]!
      const configBytes = await readDocument(files, image.Config)
      const diffIds = decodeDocument(DiffIds, configBytes, image.Config).rootfs.diff_ids
      if (diffIds.length !== image.Layers.length) {
        throw new Error(`${image.Config} lists ${diffIds.length} layer digests but manifest.json ${image.Layers.length} layers`)
      }
      const config: Descriptor = { mediaType: MediaType.dockerConfig, digest: digestOf(configBytes), size: configBytes.length }
      configs.set(config.digest, configBytes)
      const layers: Array<Descriptor> = []
      for (const [i, path] of image.Layers.entries()) {
        const size = await files.size(path)
        if (size === undefined) throw new Error(`the archive has no ${path}`)
        const named = DIGEST_PATH.exec(path)
        const digest = named === null ? diffIds[i]! : `${named[1]}:${named[2]}`
        members.set(digest, path)
        layers.push({ mediaType: MediaType.ociLayer, digest, size })
      }
      const identity = JSON.stringify({ config: config.digest, layers: layers.map((layer) => layer.digest) })
      return { manifestDigest: digestOf(Buffer.from(identity)), config, layers }
    },
    catch: sourceError(name)
  })

  return {
    name,
    resolve,
    blob: (descriptor) => {
      const config = configs.get(descriptor.digest)
      if (config !== undefined) return Stream.make(new Uint8Array(config))
      const path = members.get(descriptor.digest)
      return path === undefined
        ? Stream.fail(sourceError(name)(`the archive has no blob ${descriptor.digest}`))
        : memberStream(name, files, path)
    }
  }
}
