/**
 * In-memory POSIX-like filesystem for the fake ConTree backend.
 *
 * A filesystem is a flat map from normalised absolute path to an immutable node. Images hold a
 * frozen map (`FsTree`); a run works on a `FakeFilesystem`, which copies that map and replaces
 * nodes on every write. Because nodes are never mutated, "did this run change anything" is a
 * cheap identity comparison against the base tree.
 */

export type FsNodeType = "file" | "dir" | "symlink"

export interface FsNode {
  readonly type: FsNodeType
  /** File bytes; empty for directories and symlinks. */
  readonly content: Buffer
  /** Symlink target as written (may be relative); "" for other types. */
  readonly target: string
  /** Permission bits only (`& 0o7777`); the file-type bits come from `type`. */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Unix seconds. */
  readonly mtime: number
}

export type FsTree = ReadonlyMap<string, FsNode>

export type FsErrorCode = "ENOENT" | "EISDIR" | "ENOTDIR" | "EEXIST" | "ENOTEMPTY" | "ELOOP" | "EINVAL"

const REASONS: Record<FsErrorCode, string> = {
  ENOENT: "No such file or directory",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  EEXIST: "File exists",
  ENOTEMPTY: "Directory not empty",
  ELOOP: "Too many levels of symbolic links",
  EINVAL: "Invalid argument"
}

export class FsError extends Error {
  /** The strerror-style text, e.g. "No such file or directory". */
  readonly reason: string

  constructor(readonly code: FsErrorCode, readonly path: string) {
    super(`${path}: ${REASONS[code]}`)
    this.reason = REASONS[code]
  }
}

const TYPE_BITS: Record<FsNodeType, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000 }
const MAX_SYMLINK_HOPS = 40

/** The full `st_mode`, file-type bits included (e.g. 33188 for a 0644 regular file). */
export const stMode = (node: FsNode): number => TYPE_BITS[node.type] | node.mode

/** Size as `stat` reports it: bytes for files, target length for symlinks, one block for directories. */
export const nodeSize = (node: FsNode): number =>
  node.type === "file" ? node.content.length : node.type === "symlink" ? Buffer.byteLength(node.target) : 4096

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export const makeNode = (
  type: FsNodeType,
  fields: { content?: Buffer; target?: string; mode?: number; uid?: number; gid?: number; mtime?: number } = {}
): FsNode => ({
  type,
  content: fields.content ?? Buffer.alloc(0),
  target: fields.target ?? "",
  mode: (fields.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644)) & 0o7777,
  uid: fields.uid ?? 0,
  gid: fields.gid ?? 0,
  mtime: fields.mtime ?? nowSeconds()
})

/** Resolves `.`/`..` and makes `path` absolute against `cwd`. Never touches the tree. */
export const normalizePath = (path: string, cwd = "/"): string => {
  const parts: string[] = []
  for (const part of (path.startsWith("/") ? path : `${cwd}/${path}`).split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return `/${parts.join("/")}`
}

export const dirname = (path: string): string => {
  const index = path.lastIndexOf("/")
  return index <= 0 ? "/" : path.slice(0, index)
}

export const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1)

const joinPath = (dir: string, name: string): string => (dir === "/" ? `/${name}` : `${dir}/${name}`)

const isInside = (path: string, dir: string): boolean => dir === "/" || path === dir || path.startsWith(`${dir}/`)

export class FakeFilesystem {
  private readonly nodes: Map<string, FsNode>

  constructor(base: FsTree) {
    this.nodes = new Map(base)
  }

  snapshot(): FsTree {
    return new Map(this.nodes)
  }

  changedFrom(base: FsTree): boolean {
    if (base.size !== this.nodes.size) return true
    for (const [path, node] of this.nodes) if (base.get(path) !== node) return true
    return false
  }

  /**
   * Resolves symlinks in every component (and in the last one when `followLast`). Components
   * that do not exist are appended unresolved, so the result is also usable for creation.
   */
  resolve(path: string, followLast = true): string {
    let pending = normalizePath(path).split("/").filter(Boolean)
    let current = "/"
    let hops = 0
    while (pending.length > 0) {
      const [name, ...rest] = pending as [string, ...string[]]
      const candidate = joinPath(current, name)
      const node = this.nodes.get(candidate)
      if (node?.type === "symlink" && (rest.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new FsError("ELOOP", path)
        pending = [...normalizePath(node.target, current).split("/").filter(Boolean), ...rest]
        current = "/"
        continue
      }
      current = candidate
      pending = rest
    }
    return current
  }

  /** The node at `path` (symlinks followed unless `followLast` is false), or undefined. */
  get(path: string, followLast = true): FsNode | undefined {
    return this.nodes.get(this.resolve(path, followLast))
  }

  readFile(path: string): Buffer {
    const node = this.get(path)
    if (node === undefined) throw new FsError("ENOENT", path)
    if (node.type === "dir") throw new FsError("EISDIR", path)
    return node.content
  }

  /** Entries directly inside a directory, sorted by name. */
  list(path: string): Array<{ name: string; path: string; node: FsNode }> {
    const dir = this.resolve(path)
    const node = this.nodes.get(dir)
    if (node === undefined) throw new FsError("ENOENT", path)
    if (node.type !== "dir") throw new FsError("ENOTDIR", path)
    const entries: Array<{ name: string; path: string; node: FsNode }> = []
    for (const [child, childNode] of this.nodes) {
      if (child !== "/" && dirname(child) === dir) entries.push({ name: basename(child), path: child, node: childNode })
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Link count as `ls -l` shows it: 2 plus one per subdirectory for directories. */
  nlink(path: string): number {
    const node = this.get(path, false)
    if (node?.type !== "dir") return 1
    return 2 + this.list(path).filter((entry) => entry.node.type === "dir").length
  }

  writeFile(path: string, content: Buffer, options: { append?: boolean; mode?: number; uid?: number; gid?: number } = {}): void {
    const real = this.resolve(path)
    const existing = this.nodes.get(real)
    if (existing?.type === "dir") throw new FsError("EISDIR", path)
    this.requireParentDir(real, path)
    this.nodes.set(
      real,
      makeNode("file", {
        content: options.append && existing ? Buffer.concat([existing.content, content]) : content,
        mode: options.mode ?? existing?.mode ?? 0o644,
        uid: options.uid ?? existing?.uid ?? 0,
        gid: options.gid ?? existing?.gid ?? 0
      })
    )
  }

  mkdir(path: string, parents = false): void {
    const real = this.resolve(path)
    const existing = this.nodes.get(real)
    if (existing !== undefined) {
      if (parents && existing.type === "dir") return
      throw new FsError("EEXIST", path)
    }
    if (parents && !this.nodes.has(dirname(real))) this.mkdir(dirname(real), true)
    this.requireParentDir(real, path)
    this.nodes.set(real, makeNode("dir"))
  }

  /** Creates an empty file or bumps the mtime of an existing entry. */
  touch(path: string): void {
    const real = this.resolve(path)
    const existing = this.nodes.get(real)
    if (existing === undefined) this.writeFile(path, Buffer.alloc(0))
    else this.nodes.set(real, { ...existing, mtime: nowSeconds() })
  }

  symlink(target: string, path: string): void {
    const real = this.resolve(path, false)
    if (this.nodes.has(real)) throw new FsError("EEXIST", path)
    this.requireParentDir(real, path)
    this.nodes.set(real, makeNode("symlink", { target }))
  }

  chmod(path: string, mode: number): void {
    const real = this.resolve(path)
    const existing = this.nodes.get(real)
    if (existing === undefined) throw new FsError("ENOENT", path)
    this.nodes.set(real, { ...existing, mode: mode & 0o7777 })
  }

  /** Removes an entry (a symlink itself, not its target). Removing `/` empties the tree. */
  remove(path: string, recursive = false): void {
    const real = this.resolve(path, false)
    const node = this.nodes.get(real)
    if (node === undefined) throw new FsError("ENOENT", path)
    if (node.type === "dir" && !recursive) throw new FsError("EISDIR", path)
    for (const key of [...this.nodes.keys()]) {
      if (key !== "/" && isInside(key, real)) this.nodes.delete(key)
    }
  }

  copy(source: string, destination: string, recursive = false): void {
    const from = this.resolve(source)
    const node = this.nodes.get(from)
    if (node === undefined) throw new FsError("ENOENT", source)
    if (node.type === "dir" && !recursive) throw new FsError("EISDIR", source)
    const to = this.targetPath(from, destination)
    if (isInside(to, from)) throw new FsError("EINVAL", destination)
    this.requireParentDir(to, destination)
    const mtime = nowSeconds()
    for (const [key, value] of [...this.nodes]) {
      if (isInside(key, from)) this.nodes.set(to + key.slice(from.length), { ...value, mtime })
    }
  }

  move(source: string, destination: string): void {
    const from = this.resolve(source, false)
    if (!this.nodes.has(from)) throw new FsError("ENOENT", source)
    const to = this.targetPath(from, destination)
    if (to === from) return
    if (isInside(to, from)) throw new FsError("EINVAL", destination)
    this.requireParentDir(to, destination)
    for (const [key, value] of [...this.nodes]) {
      if (!isInside(key, from)) continue
      this.nodes.delete(key)
      this.nodes.set(to + key.slice(from.length), value)
    }
  }

  /** `cp`/`mv` semantics: a destination that is a directory receives the source by name. */
  private targetPath(from: string, destination: string): string {
    const to = this.resolve(destination)
    return this.nodes.get(to)?.type === "dir" ? joinPath(to, basename(from)) : to
  }

  private requireParentDir(real: string, shownPath: string): void {
    const parent = this.nodes.get(dirname(real))
    if (parent === undefined) throw new FsError("ENOENT", shownPath)
    if (parent.type !== "dir") throw new FsError("ENOTDIR", shownPath)
  }
}
