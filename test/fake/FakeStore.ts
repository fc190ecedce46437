/** The mutable state of one fake backend: images, uploaded files and operations. */
import { createHash, randomUUID } from "node:crypto"
import type { FsTree } from "./FakeFilesystem.js"
import { seedImages } from "./seedImages.js"
import type { FakeImage, FakeOperation, FakeUploadedFile } from "./types.js"

const HOUR_MS = 3_600_000

/** A name-based (version 5 style) UUID, so seeded images keep their uuid across runs and resets. */
export const stableUuid = (name: string): string => {
  const hex = createHash("sha1").update(`contree-fake:${name}`).digest("hex")
  const variant = ((parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

export class FakeStore {
  /** Insertion order is creation order, so listings are simply reversed. */
  readonly images = new Map<string, FakeImage>()
  readonly operations = new Map<string, FakeOperation>()
  /** Keyed by file uuid. */
  readonly files = new Map<string, FakeUploadedFile>()
  private readonly fileUuidBySha = new Map<string, string>()
  private readonly seededAt = Date.now()

  constructor() {
    this.seed()
  }

  /** Stops every operation and restores the seeded images. */
  reset(): void {
    this.abortAll()
    this.images.clear()
    this.operations.clear()
    this.files.clear()
    this.fileUuidBySha.clear()
    this.seed()
  }

  abortAll(): void {
    for (const operation of this.operations.values()) operation.abort.abort()
  }

  addImage(
    tree: FsTree,
    options: {
      tag?: string | null
      parent?: string | null
      uuid?: string
      createdAt?: number
      env?: Readonly<Record<string, string>>
      operationUuid?: string | null
    } = {}
  ): FakeImage {
    const image: FakeImage = {
      uuid: options.uuid ?? randomUUID(),
      tag: null,
      createdAt: options.createdAt ?? Date.now(),
      parent: options.parent ?? null,
      tree,
      env: options.env ?? {},
      operationUuid: options.operationUuid ?? null
    }
    this.images.set(image.uuid, image)
    if (options.tag != null) this.setTag(image, options.tag)
    return image
  }

  /** Tags are unique: setting one moves it away from any other image. */
  setTag(image: FakeImage, tag: string | null): void {
    if (tag !== null) for (const other of this.images.values()) if (other.tag === tag) other.tag = null
    image.tag = tag
  }

  findImageByTag(tag: string): FakeImage | undefined {
    for (const image of this.images.values()) if (image.tag === tag) return image
    return undefined
  }

  /** An image reference as spawn accepts it: a uuid or `tag:<tag>`. */
  resolveImage(reference: string): FakeImage | undefined {
    return reference.startsWith("tag:") ? this.findImageByTag(reference.slice(4)) : this.images.get(reference)
  }

  /** Content-addressed: identical bytes return the existing file. */
  uploadFile(content: Buffer): FakeUploadedFile {
    const sha256 = createHash("sha256").update(content).digest("hex")
    const existing = this.findFileBySha(sha256)
    if (existing !== undefined) return existing
    const file: FakeUploadedFile = { uuid: randomUUID(), sha256, size: content.length, content, createdAt: Date.now() }
    this.files.set(file.uuid, file)
    this.fileUuidBySha.set(sha256, file.uuid)
    return file
  }

  findFileBySha(sha256: string): FakeUploadedFile | undefined {
    const uuid = this.fileUuidBySha.get(sha256.toLowerCase())
    return uuid === undefined ? undefined : this.files.get(uuid)
  }

  private seed(): void {
    const seeds = seedImages()
    seeds.forEach((seed, index) =>
      this.addImage(seed.tree, {
        tag: seed.tag,
        uuid: stableUuid(seed.tag),
        createdAt: this.seededAt - (seeds.length - index) * HOUR_MS
      })
    )
  }
}
