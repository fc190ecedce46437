import { Data, Effect, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { mkdir, open, rename, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"

export class WriteError extends Data.TaggedError("WriteError")<{ readonly message: string }> {}

/**
 * Streams bytes into a temporary file beside `destination` and renames it into place, so the
 * destination is either the complete new file or untouched. Returns the number of bytes written.
 */
export const writeAtomically = <E>(
  bytes: Stream.Stream<Uint8Array, E>,
  destination: string,
  mode: number
): Effect.Effect<number, E | WriteError> => {
  const dir = dirname(destination)
  const temp = join(dir, `.${basename(destination)}.${randomBytes(6).toString("hex")}.download.tmp`)
  const io = <A>(what: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (cause) => new WriteError({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` }) })
  return Effect.acquireUseRelease(
    io(`cannot create ${dir}`, () => mkdir(dir, { recursive: true })).pipe(
      Effect.zipRight(io(`cannot write in ${dir}`, () => open(temp, "wx", mode)))
    ),
    (handle) =>
      Stream.runFoldEffect(bytes, 0, (written, chunk) =>
        io(`cannot write ${temp}`, () => handle.write(chunk)).pipe(Effect.as(written + chunk.length))).pipe(
          Effect.tap(() => io(`cannot flush ${temp}`, () => handle.sync())),
          Effect.tap(() => io(`cannot close ${temp}`, () => handle.close())),
          Effect.tap(() => io(`cannot move the download to ${destination}`, () => rename(temp, destination)))
        ),
    (handle, exit) =>
      exit._tag === "Success"
        ? Effect.void
        : Effect.promise(() => handle.close().catch(() => undefined).then(() => unlink(temp).catch(() => undefined)))
  )
}
