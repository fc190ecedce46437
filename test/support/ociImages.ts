import { createHash } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { gzipSync } from "node:zlib"
import tar from "tar-stream"
import { hostPlatform } from "../../src/local/oci/Manifest.js"

/** A tar member: `content` for a file, or a type with what it needs. */
export interface TarMember {
  readonly name: string
  readonly type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo"
  readonly content?: string | Uint8Array
  readonly linkname?: string
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly mtime?: Date
}

/** The bytes of a tar holding `members`, in order. */
export const tarBytes = async (members: ReadonlyArray<TarMember>): Promise<Buffer> => {
  const pack = tar.pack()
  for (const member of members) {
    const type = member.type ?? "file"
    const content = typeof member.content === "string" ? Buffer.from(member.content) : member.content ?? Buffer.alloc(0)
    pack.entry({
      name: member.name,
      type,
      mode: member.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: member.uid ?? 0,
      gid: member.gid ?? 0,
      mtime: member.mtime ?? new Date("2024-01-02T03:04:05Z"),
      ...(member.linkname === undefined ? {} : { linkname: member.linkname }),
      ...(type === "file" ? {} : { size: 0 })
    }, type === "file" ? content : "")
  }
  pack.finalize()
  const chunks: Array<Uint8Array> = []
  for await (const chunk of pack) chunks.push(chunk as Uint8Array)
  return Buffer.concat(chunks)
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** Two layers: the second deletes a file, adds one, and makes /etc/conf.d opaque (its old files vanish). */
export const twoLayers = async (): Promise<[Buffer, Buffer]> => [
  gzipSync(await tarBytes([
    { name: "bin/", type: "directory" },
    { name: "bin/hello", content: "#!/bin/sh\necho hello\n", mode: 0o755 },
    { name: "etc/", type: "directory" },
    { name: "etc/removed.txt", content: "to be deleted" },
    { name: "etc/kept.txt", content: "kept" },
    { name: "etc/conf.d/", type: "directory" },
    { name: "etc/conf.d/old.conf", content: "old" },
    { name: "app/", type: "directory" }
  ])),
  gzipSync(await tarBytes([
    { name: "etc/", type: "directory" },
    { name: "etc/.wh.removed.txt" },
    { name: "etc/added.txt", content: "added" },
    { name: "etc/conf.d/", type: "directory" },
    { name: "etc/conf.d/.wh..wh..opq" },
    { name: "etc/conf.d/new.conf", content: "new" }
  ]))
]

export const imageConfig = (overrides: Record<string, unknown> = {}) => ({
  architecture: hostPlatform().architecture,
  os: "linux",
  config: { Env: ["PATH=/usr/bin:/bin", "GREETING=from-config"], WorkingDir: "/app", Cmd: ["/bin/sh"], ...overrides },
  rootfs: { type: "layers", diff_ids: [] }
})

/** Files of an image (path -> bytes), to write as a directory or pack as a tar. */
export type ImageFiles = Map<string, Buffer>

const json = (value: unknown) => Buffer.from(JSON.stringify(value))

const descriptor = (mediaType: string, bytes: Buffer, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  ...extra
})

const addBlob = (files: ImageFiles, bytes: Buffer) => files.set(`blobs/sha256/${sha256(bytes).slice(7)}`, bytes)

export interface LayoutImage {
  readonly layers: ReadonlyArray<Buffer>
  readonly config: unknown
}

/** An image manifest (and its blobs) added to `files`; returns its descriptor and digest. */
const addManifest = (files: ImageFiles, image: LayoutImage) => {
  const config = json(image.config)
  addBlob(files, config)
  for (const layer of image.layers) addBlob(files, layer)
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: descriptor("application/vnd.oci.image.config.v1+json", config),
    layers: image.layers.map((layer) => descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer))
  })
  addBlob(files, manifest)
  return { manifest, descriptor: descriptor("application/vnd.oci.image.manifest.v1+json", manifest) }
}

/**
 * An OCI layout whose index.json names one image (`ref`) by a nested index with two platforms:
 * the host's, and another one whose layers are garbage, so choosing it would fail the import.
 */
export const ociLayout = (image: LayoutImage, ref = "v1") => {
  const files: ImageFiles = new Map()
  const host = addManifest(files, image)
  const other = addManifest(files, { layers: [Buffer.from("not a tar")], config: { os: "linux", architecture: "other" } })
  const index = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { ...other.descriptor, platform: { os: "linux", architecture: hostPlatform().architecture === "s390x" ? "amd64" : "s390x" } },
      { ...host.descriptor, platform: hostPlatform() }
    ]
  })
  addBlob(files, index)
  files.set("oci-layout", json({ imageLayoutVersion: "1.0.0" }))
  files.set("index.json", json({
    schemaVersion: 2,
    manifests: [descriptor("application/vnd.oci.image.index.v1+json", index, { annotations: { "org.opencontainers.image.ref.name": ref } })]
  }))
  return { files, manifestDigest: sha256(host.manifest) }
}

/** What `docker save` writes (the pre-25 layout: `<id>/layer.tar`, uncompressed), tagged `tag`. */
export const dockerArchive = (layers: ReadonlyArray<Buffer>, config: Record<string, unknown>, tag = "example/app:1") => {
  const files: ImageFiles = new Map()
  const configBytes = json({ ...config, rootfs: { type: "layers", diff_ids: layers.map(sha256) } })
  const configName = `${sha256(configBytes).slice(7)}.json`
  files.set(configName, configBytes)
  const paths = layers.map((layer, i) => {
    const path = `layer${i}/layer.tar`
    files.set(path, layer)
    return path
  })
  files.set("manifest.json", json([{ Config: configName, RepoTags: [tag], Layers: paths }]))
  return files
}

export const writeFiles = (files: ImageFiles, dir: string) => {
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), bytes)
  }
}

export const tarOfFiles = (files: ImageFiles) => tarBytes([...files].map(([name, content]) => ({ name, content })))
