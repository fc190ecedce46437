import { Effect, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { mkdir, rename, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { Readable } from "node:stream"
import { idMapping } from "../local/host/IdMapping.js"
import { removeTree } from "../local/host/removeTree.js"
import { unpackLayer, UnsafeLayerEntry } from "../local/oci/LayerUnpack.js"
import { replaceableDestination, WriteError } from "./writeAtomically.js"

class StreamFailed<E> {
  constructor(readonly error: E) {}
}

const reason = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/**
 * Unpacks a tar stream into `destination`, a path that must not exist yet (a symlink there is
 * replaced, never followed; see replaceableDestination): into a directory
 * beside it first, renamed into place once complete, so it is either whole or absent. The tar is
 * not trusted: the unpacker the engine uses for image layers (without the layer rules) keeps every
 * entry inside, never writes through a symlink, and skips device nodes and fifos. Files are owned
 * by whoever runs the server; permission bits (no setuid, setgid or sticky; the umask applied) and
 * times are kept. Returns the number of entries written.
 */
export const unpackAtomically = <E>(tar: Stream.Stream<Uint8Array, E>, destination: string): Effect.Effect<number, E | WriteError> => {
  const dir = dirname(destination)
  const temp = join(dir, `.${basename(destination)}.${randomBytes(6).toString("hex")}.download.tmp`)
  const io = <A>(what: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (cause) => new WriteError({ message: `${what}: ${reason(cause)}` }) })
  const self = idMapping(false, 0)
  return Effect.gen(function*() {
    yield* io(`cannot create ${dir}`, () => mkdir(dir, { recursive: true }))
    // The stream's own failure (the image has no such directory, say) is kept as it is, typed.
    let failure: StreamFailed<E> | undefined
    const chunks = yield* Stream.toAsyncIterableEffect(Stream.tapError(tar, (error) => Effect.sync(() => (failure ??= new StreamFailed(error)))))
    const unpacked = yield* Effect.tryPromise({
      try: (signal) => unpackLayer(Readable.from(chunks), temp, self, signal, false),
      catch: (cause) =>
        failure ?? new WriteError({ message: cause instanceof UnsafeLayerEntry ? `refused: ${cause.message}` : `cannot unpack into ${temp}: ${reason(cause)}` })
    }).pipe(Effect.catchIf((e): e is StreamFailed<E> => e instanceof StreamFailed, (e) => Effect.fail(e.error)))
    // Checked once the archive is in, so that a path missing from the image is reported as such first.
    // A symlink there is replaced, never followed: a directory cannot be renamed over it, so it goes first.
    if ((yield* replaceableDestination(destination, "directory")) === "symlink") {
      yield* io(`cannot replace the symlink ${destination}`, () => unlink(destination))
    }
    yield* io(`cannot move the download to ${destination}`, () => rename(temp, destination))
    return unpacked.entries
  }).pipe(Effect.onError(() => removeTree(temp)))
}
