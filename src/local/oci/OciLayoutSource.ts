import { Effect, Either, Schema, Stream } from "effect"
import type { LocalEngineError } from "../LocalEngineError.js"
import type { ImageSource, ResolvedImage } from "./ImageSource.js"
import { type Descriptor, ImageIndex, ImageManifest, isIndex, selectPlatform } from "./Manifest.js"
import { blobPath, decodeDocument, memberStream, readDocument, sourceError, type SourceFiles } from "./SourceFiles.js"

const REF_NAME = "org.opencontainers.image.ref.name"

/** index.json: the index entries keep their annotations, which name the images (`ref.name`). */
const LayoutIndex = Schema.Struct({
  manifests: Schema.Array(Schema.Struct({
    mediaType: Schema.String,
    digest: Schema.String,
    size: Schema.Number,
    platform: Schema.optional(Schema.Struct({ architecture: Schema.String, os: Schema.String, variant: Schema.optional(Schema.String) })),
    annotations: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
  }))
})

const refsOf = (index: typeof LayoutIndex.Type) => index.manifests.flatMap((entry) => entry.annotations?.[REF_NAME] ?? [])

/**
 * An OCI image layout (a directory for `oci:`, a tar of one for `oci-archive:`). `ref` picks the
 * index.json entry whose `org.opencontainers.image.ref.name` matches; without it the layout must
 * hold one image, or one per platform. Indexes are followed to the host's platform.
 */
export const ociLayoutSource = (name: string, files: SourceFiles, ref: string | undefined): ImageSource => {
  const document = (descriptor: Pick<Descriptor, "digest">) => readDocument(files, blobPath(descriptor.digest))

  const chooseEntry = (index: typeof LayoutIndex.Type): Descriptor => {
    const candidates = ref === undefined ? index.manifests : index.manifests.filter((entry) => entry.annotations?.[REF_NAME] === ref)
    if (candidates.length === 1) return candidates[0]!
    if (candidates.length > 1 && candidates.every((entry) => entry.platform !== undefined)) {
      return Either.getOrThrowWith(selectPlatform({ manifests: candidates }), (why) => new Error(why))
    }
    const refs = refsOf(index)
    if (candidates.length === 0 && ref !== undefined) {
      throw new Error(`no image named '${ref}' (the layout names ${refs.length === 0 ? "none" : refs.map((r) => `'${r}'`).join(", ")})`)
    }
    if (candidates.length === 0) throw new Error("the layout's index.json lists no image")
    throw new Error(`the layout holds ${candidates.length} images; name one with ':REF' (${refs.join(", ") || "they have no names"})`)
  }

  const resolve: Effect.Effect<ResolvedImage, LocalEngineError> = Effect.tryPromise({
    try: async () => {
      const layout = decodeDocument(LayoutIndex, await readDocument(files, "index.json"), "index.json")
      let chosen = chooseEntry(layout)
      let bytes = await document(chosen)
      // A nested index (what buildx and skopeo write) is followed to the host's platform.
      if (isIndex(JSON.parse(bytes.toString("utf8")))) {
        const nested = decodeDocument(ImageIndex, bytes, `index ${chosen.digest}`)
        chosen = Either.getOrThrowWith(selectPlatform(nested), (why) => new Error(why))
        bytes = await document(chosen)
      }
      const manifest = decodeDocument(ImageManifest, bytes, `manifest ${chosen.digest}`)
      return { manifestDigest: chosen.digest, config: manifest.config, layers: manifest.layers }
    },
    catch: sourceError(name)
  })

  return {
    name,
    resolve,
    blob: (descriptor) =>
      Stream.unwrap(Effect.try({ try: () => memberStream(name, files, blobPath(descriptor.digest)), catch: sourceError(name) }))
  }
}
