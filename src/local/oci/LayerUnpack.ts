import { spawn } from "node:child_process"
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync
} from "node:fs"
import { Either } from "effect"
import { join } from "node:path"
import { Readable, Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import tar from "tar-stream"
import { type IdMapping, toHostGid, toHostUid } from "../host/IdMapping.js"

/** What unpacking a layer found besides the files it wrote. */
export interface UnpackedLayer {
  /** Directories the layer made opaque (relative paths, no leading `/`), as `layers.opaque` records them. */
  readonly opaque: ReadonlyArray<string>
  /** Names of device nodes and fifos, which a layer never gets: a sandbox has its own /dev. */
  readonly skipped: ReadonlyArray<string>
  /** Entries written (directories, files, symlinks, hardlinks). */
  readonly entries: number
}

/** A layer entry that would write outside the layer, or that the layer cannot hold. The import fails with it. */
export class UnsafeLayerEntry extends Error {}

/** What an entry costs besides its content: a tar header's worth, so that a bomb of empty files is bounded too. */
const ENTRY_COST = 512

/**
 * The bytes an import may still unpack, shared by all its layers: file content plus ENTRY_COST per
 * entry, counted as they are written, so a gzip bomb stops at the cap rather than at a full disk.
 */
export class UnpackBudget {
  private used = 0
  constructor(readonly limit: number, private readonly explain: string) {}

  take(bytes: number): void {
    this.used += bytes
    if (this.used > this.limit) {
      throw new UnsafeLayerEntry(`the image unpacks to more than ${this.limit} bytes, the most an import may write (${this.explain})`)
    }
  }
}

/** An entry's content, as tar-stream hands it over. */
type EntryBody = AsyncIterable<Uint8Array> & { resume(): unknown }

const WHITEOUT = ".wh."
const OPAQUE_MARKER = ".wh..wh..opq"
const OPAQUE_XATTR = "user.overlay.opaque"
const TOOL_ENV = { PATH: "/usr/bin:/bin", LC_ALL: "C" }

type ZstdZlib = typeof zlib & { readonly createZstdDecompress?: () => Transform }

/** Node 22.15+ and 23.8+ decompress zstd; older ones (20 among them) do not. */
export const zstdSupported = (): boolean => typeof (zlib as ZstdZlib).createZstdDecompress === "function"

/**
 * The decompressor for a blob, told by its first bytes rather than its media type: `docker save`
 * writes plain tars under gzip-looking names, and registries mislabel now and then.
 */
const decompressorFor = (head: Uint8Array): Transform | undefined => {
  if (head[0] === 0x1f && head[1] === 0x8b) return zlib.createGunzip()
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    const create = (zlib as ZstdZlib).createZstdDecompress
    if (create === undefined) {
      throw new UnsafeLayerEntry(`the layer is zstd-compressed, which Node ${process.version} cannot decompress (Node 22.15 or later can)`)
    }
    return create()
  }
  return undefined
}

/** The components of an entry's name inside the layer; refuses absolute names and `..`. */
const componentsOf = (name: string): Array<string> => {
  if (name.startsWith("/")) throw new UnsafeLayerEntry(`entry '${name}' has an absolute path`)
  const parts = name.split("/").filter((part) => part !== "" && part !== ".")
  if (parts.includes("..")) throw new UnsafeLayerEntry(`entry '${name}' climbs out of the layer with '..'`)
  return parts
}

const lstatOrUndefined = (path: string) => {
  try {
    return lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

interface DirMetadata {
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: Date | undefined
}

/** getfattr's escaping, which `setfattr --restore` reverses: anything unusual in a name as `\ooo`. */
const escapeName = (path: string): string =>
  [...Buffer.from(path, "utf8")].map((byte) =>
    byte <= 0x20 || byte >= 0x7f || byte === 0x5c ? `\\${byte.toString(8).padStart(3, "0")}` : String.fromCharCode(byte)
  ).join("")

/** Runs a host tool with `input` on its stdin; fails with its stderr. */
const runTool = (command: string, args: ReadonlyArray<string>, cwd: string, input: Uint8Array, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: TOOL_ENV, stdio: ["pipe", "ignore", "pipe"], signal })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    child.on("error", reject)
    child.on("close", (code) => code === 0 ? resolve() : reject(new Error(`${command} failed: ${stderr.trim() || `exit ${code}`}`)))
    child.stdin.on("error", () => {}) // an early exit is reported by `close`
    child.stdin.end(input)
  })

/**
 * Writes a layer's tar entries into `dir` (an empty staging directory of ours) with the OCI
 * layer rules, never trusting the archive: names stay inside the layer, a symlink met on the way
 * to an entry is refused rather than followed (every write is relative to directories created or
 * checked here, files are opened O_NOFOLLOW), hardlinks only point at files of this layer, device
 * nodes and fifos are skipped. Modes (setuid included) and mtimes are kept; owners are mapped
 * into the sandbox's id range (ids it cannot map become the sandbox's root).
 *
 * Whiteouts become overlayfs's 0/0 character devices and opaque directories get overlayfs's
 * `user.overlay.opaque` xattr (the mount uses `userxattr`) and are returned for `layers.opaque`,
 * as committed layers have them. Node can create neither, so each kind is made by one host
 * process for the whole layer: GNU tar (which may mknod a whiteout even unprivileged) and setfattr.
 */
class LayerWriter {
  private readonly dirs = new Set<string>([""])
  private readonly dirMetadata = new Map<string, DirMetadata>()
  private readonly whiteouts = new Set<string>()
  private readonly opaque = new Set<string>()
  private readonly skipped: Array<string> = []
  private readonly written = new Set<string>()

  private entries = 0

  constructor(
    private readonly root: string,
    private readonly ids: IdMapping,
    private readonly signal: AbortSignal,
    /** Whiteouts and opaque markers mean what they mean in a layer; off, they are names like any other. */
    private readonly layerRules: boolean,
    private readonly budget: UnpackBudget | undefined
  ) {}

  private hostPath(parts: ReadonlyArray<string>) {
    return join(this.root, ...parts)
  }

  private owner(uid: number | undefined, gid: number | undefined) {
    return { uid: toHostUid(this.ids, uid ?? 0) ?? this.ids.uid, gid: toHostGid(this.ids, gid ?? 0) ?? this.ids.gid }
  }

  /** Makes sure every parent of `parts` is a real directory of the layer, creating missing ones; never follows a symlink. */
  private parents(parts: ReadonlyArray<string>, create: boolean) {
    for (let i = 1; i < parts.length; i++) {
      const key = parts.slice(0, i).join("/")
      if (this.dirs.has(key)) continue
      const path = this.hostPath(parts.slice(0, i))
      const stats = lstatOrUndefined(path)
      if (stats === undefined && create) {
        mkdirSync(path, { mode: 0o755 })
        lchownSync(path, this.ids.uid, this.ids.gid)
        this.written.add(key)
      } else if (stats === undefined || !stats.isDirectory()) {
        throw new UnsafeLayerEntry(
          `entry '${parts.join("/")}' lies under '${key}', which is ${stats === undefined ? "missing" : "not a directory"} in this layer`
        )
      }
      this.dirs.add(key)
    }
  }

  /** Clears the name for a new entry: a directory is kept only when a directory replaces it. */
  private clear(parts: ReadonlyArray<string>, keepDirectory: boolean) {
    const key = parts.join("/")
    this.whiteouts.delete(key)
    // The staging directory starts empty: only a name this layer wrote can be there.
    if (!this.written.has(key)) return this.written.add(key)
    const stats = lstatOrUndefined(this.hostPath(parts))
    if (stats === undefined || (keepDirectory && stats.isDirectory())) return
    rmSync(this.hostPath(parts), { recursive: true, force: true })
    for (const known of [...this.dirs]) if (known === key || known.startsWith(`${key}/`)) this.dirs.delete(known)
  }

  async entry(header: tar.Header, body: EntryBody) {
    const parts = componentsOf(header.name)
    const name = parts[parts.length - 1]
    // A layer keeps setuid, setgid and sticky bits for the sandbox; a copy for the host keeps none of them, and the umask applies.
    const mode = (header.mode ?? 0o644) & (this.layerRules ? 0o7777 : 0o777 & ~process.umask())
    const { gid, uid } = this.owner(header.uid, header.gid)
    this.budget?.take(ENTRY_COST)
    if (this.layerRules && name !== undefined && name.startsWith(WHITEOUT)) return this.whiteout(parts, name)
    if (header.type === "directory" || header.type === "file" || header.type === "contiguous-file" || header.type === "symlink" || header.type === "link") {
      this.entries++
    }
    switch (header.type) {
      case "directory": {
        if (parts.length > 0) {
          this.parents(parts, true)
          this.clear(parts, true)
          if (!this.dirs.has(parts.join("/"))) mkdirSync(this.hostPath(parts), { mode: 0o700 })
          this.dirs.add(parts.join("/"))
        }
        this.dirMetadata.set(parts.join("/"), { mode, uid, gid, mtime: header.mtime })
        return
      }
      case "file":
      case "contiguous-file": {
        this.requireName(parts, header.name)
        this.parents(parts, true)
        this.clear(parts, false)
        // Synchronous calls: a layer is mostly small files, where a thread-pool round trip per call costs more than the call.
        const fd = openSync(this.hostPath(parts), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        try {
          for await (const chunk of body) {
            this.budget?.take(chunk.length)
            writeSync(fd, chunk)
          }
          // chown clears setuid and setgid, so the mode comes after it.
          fchownSync(fd, uid, gid)
          fchmodSync(fd, mode)
          if (header.mtime !== undefined) futimesSync(fd, header.mtime, header.mtime)
        } finally {
          closeSync(fd)
        }
        return
      }
      case "symlink": {
        this.requireName(parts, header.name)
        this.parents(parts, true)
        this.clear(parts, false)
        symlinkSync(header.linkname ?? "", this.hostPath(parts))
        lchownSync(this.hostPath(parts), uid, gid)
        if (header.mtime !== undefined) lutimesSync(this.hostPath(parts), header.mtime, header.mtime)
        return
      }
      case "link": {
        this.requireName(parts, header.name)
        const target = componentsOf(header.linkname ?? "")
        this.parents(target, false)
        const stats = target.length === 0 ? undefined : lstatOrUndefined(this.hostPath(target))
        if (stats === undefined || stats.isDirectory()) {
          throw new UnsafeLayerEntry(`hardlink '${header.name}' points at '${header.linkname}', which is not a file of this layer`)
        }
        this.parents(parts, true)
        this.clear(parts, false)
        linkSync(this.hostPath(target), this.hostPath(parts))
        return
      }
      default:
        // Device nodes, fifos and anything newer: a layer holds none of them.
        this.skipped.push(parts.join("/"))
        body.resume()
    }
  }

  private requireName(parts: ReadonlyArray<string>, name: string) {
    if (parts.length === 0) throw new UnsafeLayerEntry(`entry '${name}' names the layer's root but is not a directory`)
  }

  private whiteout(parts: ReadonlyArray<string>, name: string) {
    const parent = parts.slice(0, -1)
    if (name === OPAQUE_MARKER) {
      // The layer's root cannot be opaque: nothing would be left of the image below it.
      if (parent.length === 0) return
      this.parents(parts, true)
      this.opaque.add(parent.join("/"))
      return
    }
    const hidden = name.slice(WHITEOUT.length)
    // `.wh..wh.*` names other than the opaque marker are aufs bookkeeping, meaningless here.
    if (hidden.startsWith(WHITEOUT)) return
    if (hidden === "" || hidden === "." || hidden === "..") throw new UnsafeLayerEntry(`whiteout '${parts.join("/")}' names no file`)
    const target = [...parent, hidden]
    this.parents(target, true)
    this.clear(target, false)
    this.written.delete(target.join("/"))
    this.whiteouts.add(target.join("/"))
  }

  /** Whiteouts, opaque xattrs, then directory metadata (last: creating entries changes a directory's mtime). */
  async finish(): Promise<UnpackedLayer> {
    const whiteouts: Array<string> = []
    for (const path of this.whiteouts) {
      // A later entry may have replaced a parent with a symlink: tar would follow it, so such a whiteout (now pointless) is dropped.
      const parts = path.split("/")
      if (Either.isRight(Either.try(() => this.parents(parts, false)))) whiteouts.push(path)
    }
    if (whiteouts.length > 0) {
      const pack = tar.pack()
      for (const path of whiteouts) pack.entry({ name: path, type: "character-device", devmajor: 0, devminor: 0, mode: 0 })
      pack.finalize()
      const archive: Array<Uint8Array> = []
      for await (const chunk of pack) archive.push(chunk as Uint8Array)
      await runTool("tar", ["--extract", "--file=-", "--no-same-owner", "--no-overwrite-dir"], this.root, Buffer.concat(archive), this.signal)
    }
    const opaque = [...this.opaque].filter((path) => this.dirs.has(path)).sort()
    if (opaque.length > 0) {
      const dump = opaque.map((path) => `# file: ${escapeName(path)}\n${OPAQUE_XATTR}="y"\n`).join("\n")
      await runTool("setfattr", ["--no-dereference", "--restore=-"], this.root, Buffer.from(dump), this.signal)
    }
    const deepestFirst = [...this.dirMetadata.entries()].sort(([a], [b]) => b.split("/").length - a.split("/").length)
    for (const [key, meta] of deepestFirst) {
      if (key !== "" && !this.dirs.has(key)) continue
      const path = key === "" ? this.root : this.hostPath(key.split("/"))
      lchownSync(path, meta.uid, meta.gid)
      chmodSync(path, meta.mode)
      if (meta.mtime !== undefined) utimesSync(path, meta.mtime, meta.mtime)
    }
    return { opaque, skipped: this.skipped, entries: this.entries }
  }
}

/**
 * Unpacks a layer blob (a tar, gzip- or zstd-compressed or not) from `chunks` into `dir`, which
 * must not exist yet; it is created owned by the sandbox's root. Throws `UnsafeLayerEntry` for a
 * layer that breaks the rules; the caller removes `dir` on any failure. With `layerRules` off it
 * unpacks any tar with the same safety (a directory `contree_download` copies out of an image).
 * With a `budget`, the layer fails (UnsafeLayerEntry) as soon as it would write more than is left.
 */
export const unpackLayer = async (
  chunks: Readable,
  dir: string,
  ids: IdMapping,
  signal: AbortSignal,
  layerRules = true,
  budget?: UnpackBudget
): Promise<UnpackedLayer> => {
  mkdirSync(dir, { mode: 0o755 })
  lchownSync(dir, ids.uid, ids.gid)
  // Stops a read that waits for bytes which will not come.
  signal.addEventListener("abort", () => chunks.destroy(), { once: true })
  const iterator = chunks[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>
  const first = await iterator.next()
  const head = first.done === true ? new Uint8Array() : first.value
  const body = Readable.from((async function*() {
    if (first.done !== true) yield head
    while (true) {
      const next = await iterator.next()
      if (next.done === true) return
      yield next.value
    }
  })())
  const decompress = decompressorFor(head)
  const extract = tar.extract()
  const writer = new LayerWriter(dir, ids, signal, layerRules, budget)
  const sink = extract as unknown as NodeJS.WritableStream
  const feeding = pipeline(decompress === undefined ? [body, sink] : [body, decompress, sink], { signal })
  const writing = (async () => {
    for await (const entry of extract) {
      signal.throwIfAborted()
      await writer.entry(entry.header, entry as unknown as EntryBody)
    }
  })()
  // Whichever fails first stops the other: a bad entry ends the feed, a bad feed ends the entries.
  await Promise.all([
    feeding.catch((error: unknown) => {
      extract.destroy(error as Error)
      throw error
    }),
    writing.catch((error: unknown) => {
      body.destroy(error as Error)
      throw error
    })
  ])
  return writer.finish()
}
