import { Effect, Either, ParseResult, Schema, Stream } from "effect"
import { createReadStream } from "node:fs"
import { type FileHandle, lstat, open } from "node:fs/promises"
import { join } from "node:path"
import { Readable } from "node:stream"
import { describeCause, invalidRequest, LocalEngineError } from "../LocalEngineError.js"

/**
 * The files of an image on this machine, whether they sit in a directory (`oci:`) or in a tar
 * (`oci-archive:`, `docker-archive:`): sources read documents and stream blobs through it. A tar is
 * indexed once (headers only) and its members are read in place, so an archive is never copied
 * and a blob already in the store is never read.
 */
export interface SourceFiles {
  /** Where the files are, for messages. */
  readonly location: string
  readonly size: (path: string) => Promise<number | undefined>
  readonly stream: (path: string) => Readable
}

/** Documents (index, manifests, configs) are small; anything bigger is not one. */
const MAX_DOCUMENT = 8 * 1024 * 1024

export const readDocument = async (files: SourceFiles, path: string): Promise<Buffer> => {
  const size = await files.size(path)
  if (size === undefined) throw new Error(`${files.location} has no ${path}`)
  if (size > MAX_DOCUMENT) throw new Error(`${path} in ${files.location} is ${size} bytes, too big for an image document`)
  const chunks: Array<Buffer> = []
  for await (const chunk of files.stream(path)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Member names compare without a leading `./`, as tars write them either way. */
const memberName = (name: string) => name.replace(/^(\.\/)+/, "").replace(/\/+$/, "")

/** A path inside a directory source: only plain relative names, checked by the caller against the digest format. */
export const directoryFiles = (dir: string): SourceFiles => ({
  location: dir,
  size: async (path) => {
    try {
      const stats = await lstat(join(dir, memberName(path)))
      return stats.isFile() ? stats.size : undefined
    } catch {
      return undefined
    }
  },
  stream: (path) => createReadStream(join(dir, memberName(path)), { highWaterMark: 1024 * 1024 })
})

interface Member {
  readonly offset: number
  readonly size: number
}

const BLOCK = 512

const field = (header: Buffer, start: number, length: number) => {
  const raw = header.subarray(start, start + length)
  const end = raw.indexOf(0)
  return raw.subarray(0, end === -1 ? length : end).toString("utf8")
}

/** A size field: octal text, or base-256 binary for big members (first byte 0x80). */
const sizeField = (header: Buffer): number => {
  if ((header[124]! & 0x80) !== 0) return Number(header.readBigUInt64BE(128))
  return parseInt(field(header, 124, 12).trim() || "0", 8)
}

/** `path=` of a pax extended header (records are `LEN key=value\n`). */
const paxPath = (data: Buffer): string | undefined => {
  let at = 0
  let path: string | undefined
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    if (space === -1) break
    const length = parseInt(data.subarray(at, space).toString("utf8"), 10)
    if (!(length > 0)) break
    const record = data.subarray(space + 1, at + length - 1).toString("utf8")
    if (record.startsWith("path=")) path = record.slice(5)
    at += length
  }
  return path
}

const readAt = async (handle: FileHandle, position: number, length: number) => {
  const buffer = Buffer.alloc(length)
  const { bytesRead } = await handle.read(buffer, 0, length, position)
  return buffer.subarray(0, bytesRead)
}

/** The regular files of a tar and where their bytes start: headers are read, contents skipped. */
const indexTar = async (path: string): Promise<Map<string, Member>> => {
  const members = new Map<string, Member>()
  const handle = await open(path, "r")
  try {
    let offset = 0
    let longName: string | undefined
    while (true) {
      const header = await readAt(handle, offset, BLOCK)
      if (header.length < BLOCK || header.every((byte) => byte === 0)) break
      const size = sizeField(header)
      const type = String.fromCharCode(header[156]!)
      const data = offset + BLOCK
      if (type === "L" || type === "x") {
        const content = await readAt(handle, data, Math.min(size, MAX_DOCUMENT))
        longName = type === "L" ? field(content, 0, content.length) : paxPath(content) ?? longName
      } else {
        const prefix = field(header, 345, 155)
        const name = longName ?? (prefix === "" ? field(header, 0, 100) : `${prefix}/${field(header, 0, 100)}`)
        longName = undefined
        if (type === "0" || type === "\0" || type === "7") members.set(memberName(name), { offset: data, size })
      }
      offset = data + Math.ceil(size / BLOCK) * BLOCK
    }
  } finally {
    await handle.close()
  }
  return members
}

export const tarFiles = async (path: string): Promise<SourceFiles> => {
  const members = await indexTar(path)
  return {
    location: path,
    size: (name) => Promise.resolve(members.get(memberName(name))?.size),
    stream: (name) => {
      const member = members.get(memberName(name))
      if (member === undefined) throw new Error(`${path} has no ${name}`)
      // `end` is inclusive: an empty member has no range to read.
      if (member.size === 0) return Readable.from([])
      return createReadStream(path, { start: member.offset, end: member.offset + member.size - 1, highWaterMark: 1024 * 1024 })
    }
  }
}

/** A local source's failure: the archive or directory is not what it should be. */
export const sourceError = (name: string) => (cause: unknown) =>
  cause instanceof LocalEngineError ? cause : invalidRequest(`${name}: ${describeCause(cause)}`)

/** A JSON document of the source, checked against its schema. */
export const decodeDocument = <A, I>(schema: Schema.Schema<A, I>, bytes: Buffer, what: string): A => {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString("utf8"))
  } catch {
    throw new Error(`${what} is not JSON`)
  }
  return Either.getOrThrowWith(Schema.decodeUnknownEither(schema)(json), (error) =>
    new Error(`${what} is not a valid document: ${ParseResult.TreeFormatter.formatErrorSync(error)}`))
}

/** A member's bytes as the pipeline consumes them. */
export const memberStream = (name: string, files: SourceFiles, path: string): Stream.Stream<Uint8Array, LocalEngineError> =>
  Stream.unwrap(Effect.try({
    try: () =>
      Stream.fromAsyncIterable(files.stream(path) as AsyncIterable<Buffer>, sourceError(name)).pipe(
        Stream.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      ),
    catch: sourceError(name)
  }))

const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/

/** `blobs/<alg>/<hex>` of an OCI layout; a digest of any other form would be a path of the archive's choosing. */
export const blobPath = (digest: string): string => {
  if (!DIGEST.test(digest)) throw new Error(`'${digest}' is not a sha256 or sha512 digest`)
  return `blobs/${digest.replace(":", "/")}`
}
