import { Effect } from "effect"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"

/** The sha256 and size of a file, streamed: the file is never held in memory. */
export const sha256File = (path: string): Effect.Effect<{ readonly sha256: string; readonly size: number }, Error> =>
  Effect.async((resume) => {
    const hash = createHash("sha256")
    let size = 0
    const stream = createReadStream(path, { highWaterMark: 1024 * 1024 })
    stream.on("data", (chunk) => {
      size += chunk.length
      hash.update(chunk)
    })
    stream.on("error", (error) => resume(Effect.fail(error)))
    stream.on("end", () => resume(Effect.succeed({ sha256: hash.digest("hex"), size })))
    return Effect.sync(() => stream.destroy())
  })
