import { statfsSync } from "node:fs"
import { UnpackBudget } from "./LayerUnpack.js"

const GiB = 1024 ** 3
const size = (bytes: number) => bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** What a filesystem has: bytes free to us, and its size. */
export interface FreeSpace {
  readonly free: number
  readonly total: number
}

export const freeSpaceOf = (dir: string): FreeSpace => {
  const fs = statfsSync(dir)
  return { free: fs.bavail * fs.bsize, total: fs.blocks * fs.bsize }
}

/**
 * The unpacked bytes one import may write: the configured cap; none when it is null; by default
 * the data directory's free space as the import starts, less a margin (a tenth of the
 * filesystem, at most 1 GiB) so that an import never fills the disk the host lives on.
 */
export const importBudget = (setting: number | null | "free-space", space: () => FreeSpace): UnpackBudget | undefined => {
  if (setting === null) return undefined
  if (setting !== "free-space") return new UnpackBudget(setting, `the configured cap, max-import-bytes`)
  const { free, total } = space()
  const margin = Math.min(GiB, Math.floor(total / 10))
  return new UnpackBudget(
    Math.max(0, free - margin),
    `the data directory's ${size(free)} free less a margin of ${size(margin)}; max-import-bytes sets another cap`
  )
}
