import { Effect } from "effect"
import { createHash } from "node:crypto"
import { closeSync, createReadStream, openSync, readSync } from "node:fs"

const CHUNK = 1024 * 1024


/** Files up to this size are read in one synchronous call; larger ones are streamed. */
export const SMALL_FILE = 64 * 1024
const smallBuffer = Buffer.allocUnsafe(SMALL_FILE + 1)

/**
 * A file no larger than SMALL_FILE, read with synchronous calls into a shared buffer: a stream costs
 * four thread-pool round trips per file, which dominates on many small files (about 10 µs of
 * blocking here, against 100 µs of stream overhead). `undefined` if it turned out larger. The
 * bytes are valid until the next call: copy them to keep them across an await. `afterRead` gets
 * the descriptor before it is closed (to fstat it, say).
 */
export const readSmallFile = (path: string, afterRead?: (fd: number) => void): Buffer | undefined => {
  const fd = openSync(path, "r")
  try {
    let size = 0
    for (let n = -1; n !== 0 && size <= SMALL_FILE; size += n) n = readSync(fd, smallBuffer, size, SMALL_FILE + 1 - size, null)
    if (size > SMALL_FILE) return undefined
    afterRead?.(fd)
    return smallBuffer.subarray(0, size)
  } finally {
    closeSync(fd)
  }
}

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const hashSmall = (path: string): { readonly sha256: string; readonly size: number } | undefined => {
  const bytes = readSmallFile(path)
  return bytes === undefined ? undefined : { sha256: sha256Hex(bytes), size: bytes.length }
}

const hashStreamed = (path: string): Effect.Effect<{ readonly sha256: string; readonly size: number }, Error> =>
  Effect.async((resume) => {
    const hash = createHash("sha256")
    let size = 0
    const stream = createReadStream(path, { highWaterMark: CHUNK })
    stream.on("data", (chunk) => {
      size += chunk.length
      hash.update(chunk)
    })
    stream.on("error", (error) => resume(Effect.fail(error)))
    stream.on("end", () => resume(Effect.succeed({ sha256: hash.digest("hex"), size })))
    return Effect.sync(() => stream.destroy())
  })

/**
 * The sha256 and size of a file, never holding more than 1 MiB of it in memory. With a
 * `sizeHint` (from a stat) of at most 64 KiB the file is read in one call; a file that grew
 * since is streamed like any other.
 */
export const sha256File = (
  path: string,
  sizeHint?: number
): Effect.Effect<{ readonly sha256: string; readonly size: number }, Error> =>
  sizeHint !== undefined && sizeHint <= SMALL_FILE
    ? Effect.try({ try: () => hashSmall(path), catch: (error) => error instanceof Error ? error : new Error(String(error)) }).pipe(
      Effect.flatMap((small) => small === undefined ? hashStreamed(path) : Effect.succeed(small))
    )
    : hashStreamed(path)
