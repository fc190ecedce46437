import { Stream } from "effect"
import { constants, createReadStream, openSync, readlinkSync } from "node:fs"
import { pipeline } from "node:stream/promises"
import tar from "tar-stream"
import { fromHostGid, fromHostUid, type IdMapping } from "../host/IdMapping.js"
import { internal, type LocalEngineError } from "../LocalEngineError.js"
import type { LayerStack, MergedEntry } from "./LayerStack.js"

/**
 * A directory of an image as the cloud's `GET /inspect/{uuid}/archive` sends it: a PAX tar of the
 * merged view, member names relative to the root (`/etc` gives `etc/`, `etc/hosts`), owners as
 * the sandbox sees them. Read from the layers (whiteouts and opaque directories applied); files
 * are opened O_NOFOLLOW, symlinks are archived as links, device nodes, fifos and sockets left out.
 */
export const archiveDirectory = (stack: LayerStack, dir: MergedEntry, ids: IdMapping): Stream.Stream<Uint8Array, LocalEngineError> =>
  Stream.suspend(() => {
    const pack = tar.pack()
    const header = (entry: MergedEntry) => ({
      name: entry.path.slice(1),
      mode: entry.stats.mode & 0o7777,
      uid: fromHostUid(ids, entry.stats.uid),
      gid: fromHostGid(ids, entry.stats.gid),
      mtime: entry.stats.mtime
    })
    const add = async (entry: MergedEntry): Promise<void> => {
      const stats = entry.stats
      if (stats.isDirectory()) {
        if (entry.path !== "/") pack.entry({ ...header(entry), type: "directory" })
        for (const child of stack.list(entry)) await add(child)
      } else if (stats.isSymbolicLink()) {
        pack.entry({ ...header(entry), type: "symlink", linkname: readlinkSync(entry.hostPath) })
      } else if (stats.isFile()) {
        const sink = pack.entry({ ...header(entry), type: "file", size: stats.size })
        const fd = openSync(entry.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW)
        await pipeline(createReadStream("", { fd }), sink)
      }
    }
    // The walk writes as the consumer reads: tar-stream buffers what is not read yet, a file at a time.
    void add(dir).then(() => pack.finalize(), (error: unknown) => pack.destroy(error as Error))
    return Stream.fromAsyncIterable(pack as AsyncIterable<Uint8Array>, internal("cannot archive the directory"))
  })
