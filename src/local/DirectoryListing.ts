import { readlinkSync } from "node:fs"
import { DirectoryListing, FileItem } from "../domain/Inspect.js"
import { fromHostGid, fromHostUid, type IdMapping } from "./IdMapping.js"
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

const typeChar = (item: FileItem): string =>
  item.is_dir ? "d" : item.is_symlink ? "l" : item.is_fifo ? "p" : item.is_socket ? "s" : item.is_regular ? "-" : "c"

/** `drwxr-xr-x` style, including setuid/setgid/sticky letters. */
export const permissionString = (item: FileItem): string => {
  const mode = item.mode
  const bit = (mask: number, char: string) => (mode & mask ? char : "-")
  const exec = (execMask: number, specialMask: number, special: string) => {
    const hasExec = (mode & execMask) !== 0
    if ((mode & specialMask) === 0) return hasExec ? "x" : "-"
    return hasExec ? special : special.toUpperCase()
  }
  return typeChar(item) + bit(0o400, "r") + bit(0o200, "w") + exec(0o100, 0o4000, "s") + bit(0o040, "r") + bit(0o020, "w") +
    exec(0o010, 0o2000, "s") + bit(0o004, "r") + bit(0o002, "w") + exec(0o001, 0o1000, "t")
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
  return `${value.toFixed(2)} ${UNITS[unit]!.padStart(2)}`
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const
const pad2 = (n: number) => String(n).padStart(2, "0")

/** `Mon DD HH:MM` in UTC. */
const formatDate = (unixSeconds: number): string => {
  const date = new Date(unixSeconds * 1000)
  return `${MONTHS[date.getUTCMonth()]} ${pad2(date.getUTCDate())} ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}`
}

/**
 * The text form of a listing (`GET /inspect/{uuid}/list?text`): `total <human size>`, then one
 * `ls -l` line per entry, the same format as the in-repo fake API.
 */
export const longListing = (listing: DirectoryListing, nlinks: ReadonlyArray<number>): string => {
  const total = listing.files.reduce((sum, item) => sum + item.size, 0)
  const lines = listing.files.map((item, i) => {
    const link = item.is_symlink ? ` -> ${item.symlink_to}` : ""
    return `${permissionString(item)} ${nlinks[i] ?? 1} ${item.owner} ${item.group} ${humanSize(item.size).padStart(10)} ${
      formatDate(item.mtime)
    } ${item.path}${link}`
  })
  return [`total ${humanSize(total)}`, ...lines].join("\n") + "\n"
}
