/** Declarative construction of filesystem trees for seeded, imported and test-added images. */
import { FakeFilesystem, type FsTree, dirname, makeNode, normalizePath } from "./FakeFilesystem.js"

/**
 * One entry of a declared tree. A key ending in `/` declares a directory (its content is
 * ignored, its mode is honoured). Parent directories are created implicitly with mode 0755.
 */
export type FileSpec = string | Buffer | { content: string | Buffer; mode?: number } | { symlink: string }

export const emptyTree = (mtime?: number): FsTree => new Map([["/", makeNode("dir", mtime === undefined ? {} : { mtime })]])

/** Applies `files` on top of `base`; when `mtime` is given every new or changed node gets it. */
export const buildTree = (files: Record<string, FileSpec>, base: FsTree = emptyTree(), mtime?: number): FsTree => {
  const fs = new FakeFilesystem(base)
  for (const [key, spec] of Object.entries(files)) {
    const path = normalizePath(key)
    const mode = typeof spec === "object" && "mode" in spec ? spec.mode : undefined
    fs.mkdir(dirname(path), true)
    if (key.endsWith("/")) {
      fs.mkdir(path, true)
      if (mode !== undefined) fs.chmod(path, mode)
    } else if (typeof spec === "object" && "symlink" in spec) {
      if (fs.get(path, false) !== undefined) fs.remove(path, true)
      fs.symlink(spec.symlink, path)
    } else {
      const content = typeof spec === "string" || Buffer.isBuffer(spec) ? spec : spec.content
      fs.writeFile(path, Buffer.from(content), mode === undefined ? {} : { mode })
    }
  }
  const tree = fs.snapshot()
  if (mtime === undefined) return tree
  return new Map([...tree].map(([path, node]) => [path, base.get(path) === node ? node : { ...node, mtime }]))
}
