import { chmodSync, closeSync, fchmodSync, lstatSync, mkdirSync, openSync, readdirSync } from "node:fs"
import { join } from "node:path"

/** What holds secrets (databases, uploads) is the server user's alone. */
export const PRIVATE_FILE = 0o600
export const PRIVATE_DIR = 0o700

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT"

const chmodIfThere = (path: string, mode: number) => {
  try {
    chmodSync(path, mode)
  } catch (error) {
    if (!missing(error)) throw error
  }
}

/** `dir` with `mode`, created (with its parents) when missing and set when not. */
export const dirWithMode = (dir: string, mode: number) => {
  mkdirSync(dir, { recursive: true, mode })
  chmodSync(dir, mode)
}

/**
 * A SQLite database and its `-wal`, `-shm` and `-journal` files 0600. A missing database is
 * created empty first: SQLite gives the files it adds the database's mode, so they are 0600 too.
 */
export const privateDatabase = (filename: string) => {
  const fd = openSync(filename, "a", PRIVATE_FILE)
  try {
    fchmodSync(fd, PRIVATE_FILE)
  } finally {
    closeSync(fd)
  }
  for (const suffix of ["-wal", "-shm", "-journal"]) chmodIfThere(filename + suffix, PRIVATE_FILE)
}

/** The database files beside it made 0600 when they are there; nothing is created. */
export const privateDatabaseIfThere = (filename: string) => {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) chmodIfThere(filename + suffix, PRIVATE_FILE)
}

/** Every directory under `dir` 0700 and every regular file 0600 (symlinks are left alone); `dir` itself too. */
export const privateTree = (dir: string) => {
  dirWithMode(dir, PRIVATE_DIR)
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const stats = lstatSync(path)
    if (stats.isDirectory()) privateTree(path)
    else if (stats.isFile() && (stats.mode & 0o7777) !== PRIVATE_FILE) chmodSync(path, PRIVATE_FILE)
  }
}
