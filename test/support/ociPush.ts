/**
 * Pushes test images to a real registry over the distribution API: blobs by monolithic upload
 * (POST then PUT), image manifests and indexes in OCI or Docker v2 media types. Layers are
 * tarballs built here with tar-stream (whiteouts and opaque directories are just entries named
 * `.wh.NAME` and `.wh..wh..opq`), gzip-compressed or not.
 *
 * A registry that asks for a token gets one from its realm with the given Basic credentials and
 * `pull,push` on the repository.
 */
import { createHash } from "node:crypto"
import { gzipSync } from "node:zlib"
import { pack } from "tar-stream"
import { MediaType, type Platform } from "../../src/local/oci/Manifest.js"

export interface PushTarget {
  /** `127.0.0.1:PORT` */
  readonly host: string
  readonly credentials?: { readonly username: string; readonly password: string }
}

export interface Blob {
  readonly digest: string
  readonly size: number
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

export type LayerEntry =
  | { readonly type: "file"; readonly path: string; readonly content: string | Buffer; readonly mode?: number }
  | { readonly type: "directory"; readonly path: string; readonly mode?: number }
  | { readonly type: "symlink"; readonly path: string; readonly target: string }

/** A whiteout: the layer deletes `path` from the layers below. */
export const whiteout = (path: string): LayerEntry => {
  const slash = path.lastIndexOf("/")
  return { type: "file", path: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`, content: "" }
}

/** An opaque marker: the layer's `dir` hides everything the layers below had in it. */
export const opaque = (dir: string): LayerEntry => ({ type: "file", path: `${dir.replace(/\/+$/, "")}/.wh..wh..opq`, content: "" })

/** An uncompressed tarball of `entries`, in order. */
export const tarLayer = async (entries: ReadonlyArray<LayerEntry>): Promise<Buffer> => {
  const tar = pack()
  const chunks: Array<Buffer> = []
  tar.on("data", (chunk: unknown) => chunks.push(chunk as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    tar.on("end", resolve)
    tar.on("error", reject)
  })
  for (const entry of entries) {
    const header = { name: entry.path, mtime: new Date(0), uid: 0, gid: 0 }
    switch (entry.type) {
      case "file":
        tar.entry({ ...header, type: "file", mode: entry.mode ?? 0o644 }, Buffer.from(entry.content))
        break
      case "directory":
        tar.entry({ ...header, type: "directory", mode: entry.mode ?? 0o755 })
        break
      case "symlink":
        tar.entry({ ...header, type: "symlink", linkname: entry.target })
        break
    }
  }
  tar.finalize()
  await done
  return Buffer.concat(chunks)
}

const authenticated = (target: PushTarget, repository: string) => {
  let authorization: string | undefined
  const obtain = async (challenge: string) => {
    const realm = /realm="([^"]+)"/.exec(challenge)?.[1]
    const service = /service="([^"]+)"/.exec(challenge)?.[1]
    if (realm === undefined || target.credentials === undefined) throw new Error(`${target.host} wants credentials: ${challenge}`)
    const url = new URL(realm)
    if (service !== undefined) url.searchParams.set("service", service)
    url.searchParams.set("scope", `repository:${repository}:pull,push`)
    const basic = Buffer.from(`${target.credentials.username}:${target.credentials.password}`).toString("base64")
    const answer = await fetch(url, { headers: { authorization: `Basic ${basic}` } })
    if (!answer.ok) throw new Error(`the token service answered ${answer.status}`)
    authorization = `Bearer ${((await answer.json()) as { token: string }).token}`
  }
  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    const send = () => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...(authorization ? { authorization } : {}) } })
    let response = await send()
    if (response.status === 401) {
      await obtain(response.headers.get("www-authenticate") ?? "")
      response = await send()
    }
    return response
  }
}

const expect = async (response: Response, status: number, what: string) => {
  if (response.status !== status) throw new Error(`${what}: ${response.status} ${await response.text()}`)
  return response
}

/** Uploads one blob: POST starts the upload, PUT with the digest sends it whole. */
export const pushBlob = async (target: PushTarget, repository: string, bytes: Uint8Array): Promise<Blob> => {
  const send = authenticated(target, repository)
  const digest = sha256(bytes)
  const started = await expect(await send(`http://${target.host}/v2/${repository}/blobs/uploads/`, { method: "POST" }), 202, "upload start")
  const location = new URL(started.headers.get("location")!, `http://${target.host}`)
  location.searchParams.set("digest", digest)
  await expect(
    await send(location.toString(), { method: "PUT", body: bytes, headers: { "content-type": "application/octet-stream" } }),
    201,
    `upload of ${digest}`
  )
  return { digest, size: bytes.length }
}

/** Puts a manifest or index under `reference` (a tag or its digest); its digest. */
export const pushManifest = async (target: PushTarget, repository: string, reference: string, mediaType: string, document: unknown): Promise<Blob> => {
  const bytes = Buffer.from(JSON.stringify(document))
  const send = authenticated(target, repository)
  await expect(
    await send(`http://${target.host}/v2/${repository}/manifests/${reference}`, { method: "PUT", body: bytes, headers: { "content-type": mediaType } }),
    201,
    `manifest ${reference}`
  )
  return { digest: sha256(bytes), size: bytes.length }
}

export type Format = "oci" | "docker"

export interface TestLayer {
  /** The uncompressed tarball. */
  readonly tar: Buffer
  readonly gzip: boolean
}

export interface PushedImage {
  readonly manifest: Blob
  readonly config: Blob
  readonly layers: ReadonlyArray<Blob>
  readonly mediaType: string
}

const layerMediaType = (format: Format, gzip: boolean) =>
  format === "docker" ? MediaType.dockerLayerGzip : gzip ? MediaType.ociLayerGzip : MediaType.ociLayer

/**
 * Pushes an image: its layers (lowest first), a config for `platform` with the given Env, and its
 * manifest, tagged `tag` when given. Docker v2 layers are always gzip: the format has no other type.
 */
export const pushImage = async (
  target: PushTarget,
  repository: string,
  image: {
    readonly layers: ReadonlyArray<TestLayer>
    readonly format: Format
    readonly platform?: Platform
    readonly env?: ReadonlyArray<string>
    readonly tag?: string
  }
): Promise<PushedImage> => {
  const platform = image.platform ?? { os: "linux", architecture: "amd64" }
  const layers: Array<Blob & { mediaType: string }> = []
  for (const layer of image.layers) {
    const gzip = layer.gzip || image.format === "docker"
    const blob = await pushBlob(target, repository, gzip ? gzipSync(layer.tar) : layer.tar)
    layers.push({ ...blob, mediaType: layerMediaType(image.format, gzip) })
  }
  const configDocument = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: { Env: image.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: image.layers.map((layer) => sha256(layer.tar)) }
  }
  const config = await pushBlob(target, repository, Buffer.from(JSON.stringify(configDocument)))
  const mediaType = image.format === "oci" ? MediaType.ociManifest : MediaType.dockerManifest
  const document = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: image.format === "oci" ? MediaType.ociConfig : MediaType.dockerConfig, ...config },
    layers: layers.map(({ digest, mediaType, size }) => ({ mediaType, digest, size }))
  }
  const bytes = Buffer.from(JSON.stringify(document))
  const manifest = await pushManifest(target, repository, image.tag ?? sha256(bytes), mediaType, document)
  return { manifest, config, layers, mediaType }
}

/** Pushes an index (or Docker manifest list) over already pushed images, tagged `tag`. */
export const pushIndex = async (
  target: PushTarget,
  repository: string,
  tag: string,
  format: Format,
  entries: ReadonlyArray<{ readonly image: PushedImage; readonly platform: Platform }>
): Promise<Blob> => {
  const mediaType = format === "oci" ? MediaType.ociIndex : MediaType.dockerList
  return pushManifest(target, repository, tag, mediaType, {
    schemaVersion: 2,
    mediaType,
    manifests: entries.map(({ image, platform }) => ({ mediaType: image.mediaType, ...image.manifest, platform }))
  })
}
