import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

/** A temporary directory removed when the scope closes. */
export const tempDir = (prefix = "contree-tree-") =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** Writes `files` (relative path -> content) under `root`, creating directories. */
export const writeTree = (root: string, files: Readonly<Record<string, string | Uint8Array>>) => {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
}

/**
 * Sets every file's and directory's mtime an hour back, as in a working tree nobody touched for
 * a while. Freshly written files are "racy" (modified within the last 2 s), and their
 * fingerprints are deliberately not trusted by the next sync.
 */
export const backdate = (root: string, seconds = 3600) => {
  const when = new Date(Date.now() - seconds * 1000)
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isSymbolicLink()) continue
      if (entry.isDirectory()) visit(path)
      if (entry.isDirectory() || entry.isFile()) utimesSync(path, when, when)
    }
  }
  visit(root)
}

export const symlink = (root: string, path: string, target: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  symlinkSync(target, join(root, path))
}

export const fifo = (root: string, path: string) => execFileSync("mkfifo", [join(root, path)])

/** A Unix socket bound at `path` for the rest of the scope. */
export const socket = (root: string, path: string) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof createServer>>((resume) => {
      const server = createServer()
      server.listen(join(root, path), () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

export const isRoot = process.getuid?.() === 0
