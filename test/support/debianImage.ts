import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

/** A Debian bookworm root filesystem with Python, built with mmdebstrap from Debian's archive and cached. */
export interface DebianImage {
  readonly tarball: string | undefined
  /** Why there is none (mmdebstrap missing, the archive unreachable): the suites that need one skip with it. */
  readonly missing: string | undefined
}

const CACHE = join(process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "contree-mcp-tests")
const TARBALL = join(CACHE, "bookworm-python3.tar")

/**
 * The cached tarball, built on first use (about 30 s): `mmdebstrap --variant=apt --include=python3`.
 * Like most minimal root filesystems it has no /etc/hosts (Docker writes one at run time).
 */
export const debianImage = (): DebianImage => {
  if (existsSync(TARBALL)) return { tarball: TARBALL, missing: undefined }
  if (spawnSync("mmdebstrap", ["--version"]).status !== 0) return { tarball: undefined, missing: "mmdebstrap is not installed (apt-get install mmdebstrap)" }
  mkdirSync(CACHE, { recursive: true })
  const partial = `${TARBALL}.${process.pid}.partial`
  const built = spawnSync(
    "mmdebstrap",
    ["--quiet", "--format=tar", "--variant=apt", "--include=python3", "bookworm", partial, "http://deb.debian.org/debian"],
    { encoding: "utf8", timeout: 600_000 }
  )
  if (built.status !== 0) {
    rmSync(partial, { force: true })
    return { tarball: undefined, missing: `mmdebstrap could not build the image (is Debian's archive reachable?): ${(built.stderr ?? "").trim().slice(-500)}` }
  }
  renameSync(partial, TARBALL)
  return { tarball: TARBALL, missing: undefined }
}
