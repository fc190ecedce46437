import { readlinkSync } from "node:fs"
import { DirectoryListing, FileItem } from "../../domain/Inspect.js"
import { longListing } from "../../domain/LongListing.js"
import { fromHostGid, fromHostUid, type IdMapping } from "../host/IdMapping.js"
import type { MergedEntry } from "./LayerStack.js"

/** FileItem (spec §2.7): the name relative to the listed directory, the full st_mode, ids as the sandbox sees them. */
export const fileItem = (entry: MergedEntry, ids: IdMapping): FileItem => {
  const s = entry.stats
  return new FileItem({
    path: entry.name,
    size: s.size,
    owner: fromHostUid(ids, s.uid),
    group: fromHostGid(ids, s.gid),
    mode: s.mode,
    mtime: Math.floor(s.mtimeMs / 1000),
    is_dir: s.isDirectory(),
    is_regular: s.isFile(),
    is_symlink: s.isSymbolicLink(),
    is_socket: s.isSocket(),
    is_fifo: s.isFIFO(),
    symlink_to: s.isSymbolicLink() ? readlinkSync(entry.hostPath) : ""
  })
}

export const directoryListing = (path: string, entries: ReadonlyArray<MergedEntry>, ids: IdMapping): DirectoryListing =>
  new DirectoryListing({ path, files: entries.map((entry) => fileItem(entry, ids)) })

/** The text form of a listing, in the format the cloud (and the in-repo fake) answers. */
export const longListingText = (listing: DirectoryListing, nlinks: ReadonlyArray<number>): string =>
  longListing(listing.files.map((item, i) => ({
    name: item.path,
    mode: item.mode,
    nlink: nlinks[i] ?? 1,
    owner: item.owner ?? 0,
    group: item.group ?? 0,
    size: item.size,
    mtime: item.mtime,
    target: item.is_symlink ? item.symlink_to ?? "" : undefined
  })))
