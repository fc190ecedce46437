/**
 * The text form of a directory listing (`GET /inspect/{uuid}/list?text`): `total <human size>`,
 * then one `ls -l` style line per entry. The format follows the reference's fixtures; the local
 * engine and the test fake both render it through here.
 */
export interface LongListingEntry {
  readonly name: string
  /** The full st_mode, file-type bits included. */
  readonly mode: number
  readonly nlink: number
  readonly owner: number | string
  readonly group: number | string
  readonly size: number
  /** Unix seconds. */
  readonly mtime: number
  readonly target?: string | undefined
}

const TYPE_CHARS: Readonly<Record<number, string>> = {
  0o040000: "d",
  0o120000: "l",
  0o140000: "s",
  0o010000: "p",
  0o020000: "c",
  0o060000: "b"
}

/** `drwxr-xr-x` style, including setuid/setgid/sticky letters. */
export const permissionString = (mode: number): string => {
  const bit = (mask: number, char: string) => (mode & mask ? char : "-")
  const exec = (execMask: number, specialMask: number, special: string) => {
    const hasExec = (mode & execMask) !== 0
    if ((mode & specialMask) === 0) return hasExec ? "x" : "-"
    return hasExec ? special : special.toUpperCase()
  }
  return (TYPE_CHARS[mode & 0o170000] ?? "-") + bit(0o400, "r") + bit(0o200, "w") + exec(0o100, 0o4000, "s") +
    bit(0o040, "r") + bit(0o020, "w") + exec(0o010, 0o2000, "s") + bit(0o004, "r") + bit(0o002, "w") + exec(0o001, 0o1000, "t")
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

export const longListingLine = (entry: LongListingEntry): string =>
  `${permissionString(entry.mode)} ${entry.nlink} ${entry.owner} ${entry.group} ${humanSize(entry.size).padStart(10)} ${
    formatDate(entry.mtime)
  } ${entry.name}${entry.target ? ` -> ${entry.target}` : ""}`

export const longListing = (entries: ReadonlyArray<LongListingEntry>): string => {
  const total = entries.reduce((sum, entry) => sum + entry.size, 0)
  return [`total ${humanSize(total)}`, ...entries.map(longListingLine)].join("\n") + "\n"
}
