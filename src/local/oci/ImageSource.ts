import { type Effect, FiberRef, type Stream } from "effect"
import type { LocalEngineError } from "../LocalEngineError.js"
import type { Descriptor } from "./Manifest.js"

/** One platform's image as a source describes it, before any layer is fetched. */
export interface ResolvedImage {
  /** The digest of the image manifest chosen (after following an index to the host's platform). Re-imports are keyed by it. */
  readonly manifestDigest: string
  readonly config: Descriptor
  /** Lowest first, as in the manifest. */
  readonly layers: ReadonlyArray<Descriptor>
}

/**
 * Where an import reads an image from: a registry, an OCI layout, an archive. The import
 * pipeline (`ImageImport`) is the same for all of them: it resolves, skips blobs already in the
 * store, streams the others through a digest check, and unpacks each layer into a layer directory.
 */
export interface ImageSource {
  /** What the user named (`docker.io/library/alpine:latest`, `oci-archive:/tmp/a.tar`), for messages and records. */
  readonly name: string
  readonly resolve: Effect.Effect<ResolvedImage, LocalEngineError>
  /** The blob's bytes as stored (compressed layers stay compressed); the pipeline checks size and digest. */
  readonly blob: (descriptor: Descriptor) => Stream.Stream<Uint8Array, LocalEngineError>
}

/** Bytes an import reads (or fetches): `done` grows as they pass, against the `total` it expects. */
export interface ImportProgress {
  done: number
  total: number
}

/**
 * Where a source counts what it reads while resolving: a rootfs tarball is hashed whole to name
 * its layer before a byte is unpacked, and a big one takes a while. The import sets it to its own
 * progress (`Effect.locally`); the source counts the bytes it reads in `done`, and may add to
 * `total` what it expects the whole import to read (a tarball: itself twice). Once resolved, the
 * import sets `total` to what resolving read and the layers it still fetches.
 */
export const resolveProgress: FiberRef.FiberRef<ImportProgress | undefined> = FiberRef.unsafeMake<ImportProgress | undefined>(undefined)
