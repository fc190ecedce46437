import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs"

/** One layer directory and the directories it made opaque (relative paths, e.g. `etc/apt`). */
export interface StackLayer {
  readonly dir: string
  readonly opaque: ReadonlySet<string>
}

/** What a path shows in the merged view: the top-most entry, and for a directory every layer that merges into it. */
export interface MergedEntry {
  /** Absolute path in the image, symlinks resolved (`/` for the root). */
  readonly path: string
  readonly name: string
  readonly stats: Stats
  /** Where the top-most entry lives on the host. */
  readonly hostPath: string
  /** For a directory: the indexes (top first) of the layers that hold it as a directory. */
  readonly layers: ReadonlyArray<number>
}

const MAX_SYMLINK_HOPS = 40

/** overlayfs marks a deleted name in an upper layer with a 0/0 character device. */
const isWhiteout = (stats: Stats): boolean => stats.isCharacterDevice() && stats.rdev === 0

const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT" || code === "ENOTDIR") return undefined
    throw error
  }
}

const relative = (path: string) => path.slice(1)
const childPath = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`)

/**
 * An image's filesystem read straight from its layers, top layer first, with overlayfs's rules:
 * the top-most entry of a name wins; a whiteout hides the name in the layers below; directories
 * merge down until an opaque one; a non-directory hides every directory below it. No sandbox and
 * no mount are needed. Every host path it builds runs through real directories only, because
 * symlinks are resolved here, inside the image, never by the host.
 */
export class LayerStack {
  constructor(readonly layers: ReadonlyArray<StackLayer>) {}

  root(): MergedEntry {
    return { path: "/", name: "", stats: lstatSync(this.layers[0]!.dir), hostPath: this.layers[0]!.dir, layers: this.layers.map((_, i) => i) }
  }

  child(dir: MergedEntry, name: string): MergedEntry | undefined {
    const path = childPath(dir.path, name)
    let found: { stats: Stats; hostPath: string; layers: Array<number> } | undefined
    for (const index of dir.layers) {
      const layer = this.layers[index]!
      const hostPath = layer.dir + path
      const stats = lstatOrUndefined(hostPath)
      if (stats === undefined) continue
      if (found === undefined) {
        if (isWhiteout(stats)) return undefined
        found = { stats, hostPath, layers: stats.isDirectory() ? [index] : [] }
        if (!stats.isDirectory() || layer.opaque.has(relative(path))) break
      } else {
        if (!stats.isDirectory()) break
        found.layers.push(index)
        if (layer.opaque.has(relative(path))) break
      }
    }
    return found === undefined ? undefined : { path, name, ...found }
  }

  /** The entry at `path` (absolute, or relative to `/`); symlinks on the way, and the last one when `followLast`, are resolved. */
  resolve(path: string, followLast: boolean): MergedEntry | undefined {
    const chain: Array<MergedEntry> = [this.root()]
    const pending = path.split("/").filter((part) => part !== "" && part !== ".")
    let hops = 0
    while (pending.length > 0) {
      const name = pending.shift()!
      const current = chain[chain.length - 1]!
      if (name === "..") {
        if (chain.length > 1) chain.pop()
        continue
      }
      if (!current.stats.isDirectory()) return undefined
      const next = this.child(current, name)
      if (next === undefined) return undefined
      if (next.stats.isSymbolicLink() && (pending.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined
        const target = readlinkSync(next.hostPath)
        if (target.startsWith("/")) chain.length = 1
        pending.unshift(...target.split("/").filter((part) => part !== "" && part !== "."))
        continue
      }
      chain.push(next)
    }
    return chain[chain.length - 1]
  }

  /**
   * The names in a directory whose top-most entry is a directory: one readdir per layer, no lstat
   * per name (a whiteout or a device is a character device, so neither counts).
   */
  directoryNames(dir: MergedEntry): ReadonlySet<string> {
    const seen = new Set<string>()
    const directories = new Set<string>()
    for (const index of dir.layers) {
      const base = this.layers[index]!.dir + (dir.path === "/" ? "" : dir.path)
      for (const entry of readdirSync(base, { withFileTypes: true })) {
        if (seen.has(entry.name)) continue
        seen.add(entry.name)
        if (entry.isDirectory()) directories.add(entry.name)
      }
    }
    return directories
  }

  /** The entries of a directory, sorted by name. */
  list(dir: MergedEntry): Array<MergedEntry> {
    const seen = new Set<string>()
    const entries: Array<MergedEntry> = []
    for (const index of dir.layers) {
      const base = this.layers[index]!.dir + (dir.path === "/" ? "" : dir.path)
      for (const name of readdirSync(base)) {
        if (seen.has(name)) continue
        seen.add(name)
        const entry = this.child(dir, name)
        if (entry !== undefined) entries.push(entry)
      }
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
}

