import { Either, Schema } from "effect"
import { arch as hostArch } from "node:os"

/**
 * The OCI image-spec and Docker v2 documents an import reads. Unknown fields are ignored and both
 * media-type families are accepted, as registries and `docker save` mix them freely.
 */
export const Descriptor = Schema.Struct({
  mediaType: Schema.String,
  digest: Schema.String,
  size: Schema.Number,
  platform: Schema.optional(Schema.Struct({
    architecture: Schema.String,
    os: Schema.String,
    variant: Schema.optional(Schema.String)
  }))
})
export type Descriptor = typeof Descriptor.Type

export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip"
} as const

/** Every manifest type we can read, for a registry's `Accept` header. */
export const ACCEPTED_MANIFESTS = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest]

export const ImageIndex = Schema.Struct({
  mediaType: Schema.optional(Schema.String),
  manifests: Schema.Array(Descriptor)
})
export type ImageIndex = typeof ImageIndex.Type

export const ImageManifest = Schema.Struct({
  mediaType: Schema.optional(Schema.String),
  config: Descriptor,
  layers: Schema.Array(Descriptor)
})
export type ImageManifest = typeof ImageManifest.Type

/** The part of an image config that becomes run defaults. */
export const ImageConfig = Schema.Struct({
  architecture: Schema.optional(Schema.String),
  os: Schema.optional(Schema.String),
  config: Schema.optional(Schema.NullOr(Schema.Struct({
    Env: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
    WorkingDir: Schema.optional(Schema.NullOr(Schema.String)),
    User: Schema.optional(Schema.NullOr(Schema.String)),
    Cmd: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
    Entrypoint: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
  })))
})
export type ImageConfig = typeof ImageConfig.Type

/** A document is an index when it lists manifests (the media type is optional in both specs). */
export const isIndex = (document: unknown): boolean =>
  typeof document === "object" && document !== null && Array.isArray((document as { manifests?: unknown }).manifests)

/** Node's `os.arch()` in OCI's words. */
const OCI_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" }

export interface Platform {
  readonly os: string
  readonly architecture: string
  readonly variant?: string | undefined
}

export const hostPlatform = (): Platform => ({ os: "linux", architecture: OCI_ARCH[hostArch()] ?? hostArch() })

/**
 * The index entry for a platform: an exact variant match first, then any variant of the
 * architecture. Attestation entries (`unknown/unknown`) never match. Fails with the platforms the
 * index offers, so the user knows why.
 */
export const selectPlatform = (index: ImageIndex, platform: Platform = hostPlatform()): Either.Either<Descriptor, string> => {
  const candidates = index.manifests.filter((entry) =>
    entry.platform !== undefined && entry.platform.os === platform.os && entry.platform.architecture === platform.architecture
  )
  const exact = candidates.find((entry) => platform.variant === undefined || entry.platform?.variant === platform.variant)
  const chosen = exact ?? candidates[0]
  if (chosen !== undefined) return Either.right(chosen)
  const offered = index.manifests.flatMap((entry) =>
    entry.platform === undefined ? [] : [`${entry.platform.os}/${entry.platform.architecture}${entry.platform.variant ? `/${entry.platform.variant}` : ""}`]
  )
  return Either.left(
    `the image has no ${platform.os}/${platform.architecture} variant (it offers ${offered.length === 0 ? "none" : offered.join(", ")})`
  )
}
