/** Directory listings in both wire forms of `GET /inspect/{uuid}/list`: JSON FileItems and `ls -l` text. */
import { longListing, type LongListingEntry, longListingLine as renderLine } from "../../src/domain/LongListing.js"
import { type FsNode, nodeSize, stMode } from "./FakeFilesystem.js"

export interface ListingEntry {
  readonly name: string
  readonly node: FsNode
  readonly nlink: number
}

/** FileItem (spec §2.7): the name is relative to the listed directory, `mode` is the full st_mode. */
export const fileItem = ({ name, node, nlink }: ListingEntry) => ({
  path: name,
  size: nodeSize(node),
  owner: node.uid,
  group: node.gid,
  uid: node.uid,
  gid: node.gid,
  nlink,
  mode: stMode(node),
  mtime: node.mtime,
  is_dir: node.type === "dir",
  is_regular: node.type === "file",
  is_symlink: node.type === "symlink",
  is_socket: false,
  is_fifo: false,
  symlink_to: node.target
})

const entry = ({ name, node, nlink }: ListingEntry): LongListingEntry => ({
  name,
  mode: stMode(node),
  nlink,
  owner: node.uid,
  group: node.gid,
  size: nodeSize(node),
  mtime: node.mtime,
  target: node.type === "symlink" ? node.target : undefined
})

export const longListingLine = (listed: ListingEntry): string => renderLine(entry(listed))

/** The text listing: `total <human size>` and one `ls -l` line per entry, newline-terminated. */
export const formatLongListing = (entries: readonly ListingEntry[]): string => longListing(entries.map(entry))
