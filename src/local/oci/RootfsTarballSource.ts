import { Effect, FiberRef, Stream } from "effect"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import type { LocalEngineError } from "../LocalEngineError.js"
import { type ImageSource, type ResolvedImage, resolveProgress } from "./ImageSource.js"
import { type Descriptor, MediaType } from "./Manifest.js"
import { directoryFiles, memberStream, sourceError } from "./SourceFiles.js"

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/**
 * `tarball:PATH`: a root filesystem in one tar (plain, gzip or zstd), such as `docker export` or
 * a distribution's rootfs tarball writes, imported as a one-layer image with an empty config.
 * The tar is hashed once to name the layer (bytes the import's progress counts, beside the
 * unpacking's); the same tarball imported again is the same image.
 */
export const rootfsTarballSource = (name: string, path: string): ImageSource => {
  const config = Buffer.from(JSON.stringify({ architecture: "", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [] } }))
  const configDescriptor: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length }
  let layer: Descriptor | undefined

  const resolve: Effect.Effect<ResolvedImage, LocalEngineError> = Effect.flatMap(FiberRef.get(resolveProgress), (progress) =>
    Effect.tryPromise({
      try: async () => {
        const stats = await stat(path)
        if (!stats.isFile()) throw new Error("not a regular file")
        // Hashed now, unpacked next unless an earlier import has it: the total is right from the start in the usual case.
        if (progress !== undefined) progress.total += 2 * stats.size
        const hash = createHash("sha256")
        for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
          hash.update(chunk as Buffer)
          if (progress !== undefined) progress.done += (chunk as Buffer).length
        }
        layer = { mediaType: MediaType.ociLayer, digest: `sha256:${hash.digest("hex")}`, size: stats.size }
        const identity = JSON.stringify({ config: configDescriptor.digest, layers: [layer.digest] })
        return { manifestDigest: sha256(Buffer.from(identity)), config: configDescriptor, layers: [layer] }
      },
      catch: sourceError(name)
    }))

  return {
    name,
    resolve,
    blob: (descriptor) =>
      descriptor.digest === configDescriptor.digest
        ? Stream.make(new Uint8Array(config))
        : descriptor.digest === layer?.digest
        ? memberStream(name, directoryFiles("/"), path)
        : Stream.fail(sourceError(name)(`the tarball has no blob ${descriptor.digest}`))
  }
}
