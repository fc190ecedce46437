import { Data, Effect, Stream } from "effect"
import { randomBytes } from "node:crypto"
import type { Stats } from "node:fs"
import { lstat, mkdir, open, rename, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"

export class WriteError extends Data.TaggedError("WriteError")<{ readonly message: string }> {}

/** What a download may find at its destination: nothing, a regular file (replaced) or a symlink (replaced, never followed). */
export type Replaceable = "missing" | "file" | "symlink"

const kindOf = (stats: Stats) =>
  stats.isDirectory()
    ? "a directory"
    : stats.isCharacterDevice()
    ? "a character device"
    : stats.isBlockDevice()
    ? "a block device"
    : stats.isFIFO()
    ? "a FIFO"
    : stats.isSocket()
    ? "a socket"
    : "not a regular file"

/**
 * What is at `destination` (never following a symlink), refused unless a download may replace it:
 * a file replaces a missing path, a regular file or a symlink; a directory goes to a missing path
 * or replaces a symlink. Checked before writing and again just before the rename into place.
 */
export const replaceableDestination = (destination: string, download: "file" | "directory"): Effect.Effect<Replaceable, WriteError> =>
  Effect.tryPromise({
    try: () => lstat(destination).then((stats) => stats, (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error))),
    catch: (cause) => new WriteError({ message: `cannot check destination ${destination}: ${cause instanceof Error ? cause.message : String(cause)}` })
  }).pipe(Effect.flatMap((stats) => {
    if (stats === undefined) return Effect.succeed("missing" as const)
    if (stats.isSymbolicLink()) return Effect.succeed("symlink" as const)
    if (download === "file" && stats.isFile()) return Effect.succeed("file" as const)
    const message = download === "file"
      ? `destination ${destination} is ${kindOf(stats)}: a file is written only over a regular file, a symlink (replaced, not followed) or a missing path`
      : `destination ${destination} exists (${stats.isFile() ? "a regular file" : kindOf(stats)}): a directory is downloaded into a new path (or over a symlink, which is replaced)`
    return Effect.fail(new WriteError({ message }))
  }))

/**
 * Streams bytes into a temporary file beside `destination` and renames it into place, so the
 * destination is either the complete new file or untouched. Only a regular file, a symlink (the
 * link is replaced, never followed) or nothing is replaced (see replaceableDestination): a
 * directory, device, FIFO or socket is refused before any byte is read. Returns the number of bytes written.
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
    replaceableDestination(destination, "file").pipe(
      Effect.zipRight(io(`cannot create ${dir}`, () => mkdir(dir, { recursive: true }))),
      Effect.zipRight(io(`cannot write in ${dir}`, () => open(temp, "wx", mode)))
    ),
    (handle) =>
      Stream.runFoldEffect(bytes, 0, (written, chunk) =>
        io(`cannot write ${temp}`, () => handle.write(chunk)).pipe(Effect.as(written + chunk.length))).pipe(
          Effect.tap(() => io(`cannot flush ${temp}`, () => handle.sync())),
          Effect.tap(() => io(`cannot close ${temp}`, () => handle.close())),
          Effect.tap(() => replaceableDestination(destination, "file")),
          Effect.tap(() => io(`cannot move the download to ${destination}`, () => rename(temp, destination)))
        ),
    (handle, exit) =>
      exit._tag === "Success"
        ? Effect.void
        : Effect.promise(() => handle.close().catch(() => undefined).then(() => unlink(temp).catch(() => undefined)))
  )
}
