/**
 * The current generation's image reads without a sandbox (spec §1.3 #22–23, #25): `grep`, a plain
 * JS search over the image's files (patterns as JS regexes, not ripgrep's Rust syntax), and
 * `archive`, a PAX tar of a directory with member names relative to the root (`etc/hosts`).
 */
import tar from "tar-stream"
import * as Api from "../../../src/api/ContreeApi.js"
import { GrepResult } from "../../../src/api/ApiSchemas.js"
import { type FsNode, type FsTree, normalizePath } from "../FakeFilesystem.js"
import type { FakeStore } from "../FakeStore.js"
import { ApiError, type ApiRequest, encodedReply, type Reply } from "../http.js"
import { type Route, route } from "../routing.js"

const treeOf = (store: FakeStore, uuid: string): FsTree => {
  const image = store.images.get(uuid)
  if (image === undefined) throw new ApiError(404, "Image not found")
  return image.tree
}

const all = (request: ApiRequest, name: string): string[] => request.search?.getAll(name) ?? (request.query[name] === undefined ? [] : [request.query[name]])

const inside = (path: string, root: string) => root === "/" || path === root || path.startsWith(`${root}/`)

/** A glob over a path: `*` within a segment, `**` across, `?` one character; without a `/` it matches the base name. */
const globMatcher = (glob: string): ((path: string) => boolean) => {
  let source = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === "*" && glob[i + 1] === "*") {
      source += ".*"
      i++
    } else if (c === "*") source += "[^/]*"
    else if (c === "?") source += "[^/]"
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  }
  const pattern = new RegExp(`^${source}$`)
  return glob.includes("/")
    ? (path) => pattern.test(path.slice(1)) || pattern.test(path)
    : (path) => pattern.test(path.slice(path.lastIndexOf("/") + 1))
}

const count = (request: ApiRequest, name: string): number | undefined => {
  const value = request.query[name]
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new ApiError(400, `${name} must be a non-negative integer`)
  return n
}

const grep = (store: FakeStore, request: ApiRequest, uuid: string): Reply => {
  const tree = treeOf(store, uuid)
  const patterns = all(request, "pattern")
  if (patterns.length === 0 || patterns.some((p) => p === "")) throw new ApiError(400, "pattern is required")
  const roots = all(request, "path").map((p) => normalizePath(p))
  const globs = all(request, "glob")
  const include = globs.filter((g) => !g.startsWith("!")).map(globMatcher)
  const exclude = globs.filter((g) => g.startsWith("!")).map((g) => globMatcher(g.slice(1)))
  const mode = request.query.case ?? "smart"
  if (!["sensitive", "insensitive", "smart"].includes(mode)) throw new ApiError(400, "case must be one of sensitive, insensitive, smart")
  const maxCount = count(request, "max_count")
  const maxTotal = count(request, "max_total") ?? 1000
  let regexes: RegExp[]
  try {
    regexes = patterns.map((p) => new RegExp(p, mode === "insensitive" || (mode === "smart" && p === p.toLowerCase()) ? "gi" : "g"))
  } catch (error) {
    throw new ApiError(400, `invalid pattern: ${error instanceof Error ? error.message : String(error)}`)
  }
  const matches: Array<typeof GrepResult.Type["matches"][number]> = []
  let truncated = false
  const files = [...tree.entries()]
    .filter((entry): entry is [string, FsNode] => entry[1].type === "file")
    .filter(([path]) => roots.length === 0 || roots.some((root) => inside(path, root)))
    .filter(([path]) => (include.length === 0 || include.some((m) => m(path))) && !exclude.some((m) => m(path)))
    .sort(([a], [b]) => a.localeCompare(b))
  search: for (const [path, node] of files) {
    if (node.content.includes(0)) continue // binary, as ripgrep skips it
    let inFile = 0
    let offset = 0
    for (const [index, line] of node.content.toString("utf8").split("\n").entries()) {
      const lineOffset = offset
      offset += Buffer.byteLength(line) + 1
      const submatches = regexes.flatMap((regex) => [...line.matchAll(regex)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length })))
      if (submatches.length === 0) continue
      if (maxCount !== undefined && inFile >= maxCount) break
      if (matches.length >= maxTotal) {
        truncated = true
        break search
      }
      inFile++
      matches.push({ path, line_number: index + 1, absolute_offset: lineOffset, line_text: line, submatches, type: "match" })
    }
  }
  return encodedReply(200, GrepResult, { path: roots.length === 0 ? "/" : roots, patterns, matches, truncated })
}

const archive = async (store: FakeStore, request: ApiRequest, uuid: string): Promise<Reply> => {
  const tree = treeOf(store, uuid)
  if (!request.query.path) throw new ApiError(400, "path is required")
  const root = normalizePath(request.query.path)
  if (root !== "/" && !tree.has(root)) throw new ApiError(404, "path not found")
  const pack = tar.pack()
  const entries = [...tree.entries()].filter(([path]) => path !== "/" && inside(path, root)).sort(([a], [b]) => a.localeCompare(b))
  for (const [path, node] of entries) {
    const header = { name: path.slice(1), mode: node.mode, uid: node.uid, gid: node.gid, mtime: new Date(node.mtime * 1000), pax: { path: path.slice(1) } }
    if (node.type === "dir") pack.entry({ ...header, type: "directory" })
    else if (node.type === "symlink") pack.entry({ ...header, type: "symlink", linkname: node.target })
    else pack.entry({ ...header, type: "file", size: node.content.length }, node.content)
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return { status: 200, headers: { "content-type": "application/x-tar" }, body: Buffer.concat(chunks) }
}

export const searchRoutes = (store: FakeStore): Route[] => [
  route(Api.grepImage, (request, { uuid = "" }) => grep(store, request, uuid)),
  route(Api.downloadArchive, (request, { uuid = "" }) => archive(store, request, uuid))
]
