/** Directory listings in both wire forms of `GET /inspect/{uuid}/list`: JSON FileItems and `ls -l` text. */
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

const TYPE_CHAR = { file: "-", dir: "d", symlink: "l" } as const

/** `drwxr-xr-x` style, including setuid/setgid/sticky letters. */
export const permissionString = (node: FsNode): string => {
  const bit = (mask: number, char: string): string => (node.mode & mask ? char : "-")
  const exec = (execMask: number, specialMask: number, special: string): string => {
    const hasExec = (node.mode & execMask) !== 0
    if ((node.mode & specialMask) === 0) return hasExec ? "x" : "-"
    return hasExec ? special : special.toUpperCase()
  }
  return (
    TYPE_CHAR[node.type] +
    bit(0o400, "r") + bit(0o200, "w") + exec(0o100, 0o4000, "s") +
    bit(0o040, "r") + bit(0o020, "w") + exec(0o010, 0o2000, "s") +
    bit(0o004, "r") + bit(0o002, "w") + exec(0o001, 0o1000, "t")
  )
}

const UNITS = ["B", "KB", "MB", "GB", "TB"] as const

/** Human size as in the reference fixtures: `256.00  B`, `1.17 KB`. */
export const humanSize = (bytes: number): string => {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(2)} ${(UNITS[unit] as string).padStart(2)}`
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const
const pad2 = (n: number): string => String(n).padStart(2, "0")

/** `Mon DD HH:MM` in UTC. */
const formatDate = (unixSeconds: number): string => {
  const date = new Date(unixSeconds * 1000)
  return `${MONTHS[date.getUTCMonth()]} ${pad2(date.getUTCDate())} ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}`
}

export const longListingLine = ({ name, node, nlink }: ListingEntry): string => {
  const link = node.type === "symlink" ? ` -> ${node.target}` : ""
  return `${permissionString(node)} ${nlink} ${node.uid} ${node.gid} ${humanSize(nodeSize(node)).padStart(10)} ${formatDate(node.mtime)} ${name}${link}`
}

/** The text listing: `total <human size>` and one `ls -l` line per entry, newline-terminated. */
export const formatLongListing = (entries: readonly ListingEntry[]): string => {
  const total = entries.reduce((sum, entry) => sum + nodeSize(entry.node), 0)
  return [`total ${humanSize(total)}`, ...entries.map(longListingLine)].join("\n") + "\n"
}
