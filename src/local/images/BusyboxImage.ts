import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { chmodSync, closeSync, copyFileSync, lchownSync, mkdirSync, openSync, readSync, symlinkSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { internal, type LocalEngineError } from "../LocalEngineError.js"

export const BUSYBOX = "/bin/busybox"

/** Whether an ELF executable needs no dynamic loader (no PT_INTERP program header), so it runs in an image without libc. */
export const isStaticElf = (path: string): boolean => {
  const fd = openSync(path, "r")
  try {
    const header = Buffer.alloc(64)
    readSync(fd, header, 0, 64, 0)
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return false // 64-bit little-endian ELF only
    const phoff = Number(header.readBigUInt64LE(32))
    const phentsize = header.readUInt16LE(54)
    const phnum = header.readUInt16LE(56)
    const table = Buffer.alloc(phentsize * phnum)
    readSync(fd, table, 0, table.length, phoff)
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false
    return true
  } finally {
    closeSync(fd)
  }
}

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
const GROUP = "root:x:0:\nnogroup:x:65534:\n"
const HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost\n"

const DIRECTORIES: ReadonlyArray<readonly [string, number]> = [
  ["bin", 0o755], ["sbin", 0o755], ["usr", 0o755], ["usr/bin", 0o755], ["usr/sbin", 0o755], ["etc", 0o755], ["root", 0o700],
  ["home", 0o755], ["tmp", 0o1777], ["var", 0o755], ["var/tmp", 0o1777], ["proc", 0o555], ["dev", 0o755], ["sys", 0o555], ["run", 0o755]
]

/**
 * The offline base image: the host's static busybox (package `busybox-static`) with its applets
 * as symlinks, the usual directories and a minimal /etc written here. Nothing else of the host
 * is copied: no accounts, keys or configuration. Built once into `dir`, owned by the sandbox's
 * root (`uid`/`gid` on the host); returns the busybox version for the image's `source`.
 */
export const buildBusyboxLayer = (dir: string, uid: number, gid: number): Effect.Effect<string, LocalEngineError> =>
  Effect.try({
    try: () => {
      if (!isStaticElf(BUSYBOX)) throw new Error(`${BUSYBOX} is not statically linked: install busybox-static`)
      const banner = execFileSync(BUSYBOX, [], { encoding: "utf8" }).split("\n")[0] ?? ""
      const version = /v(\d[\w.]*)/.exec(banner)?.[1] ?? "unknown"
      const applets = execFileSync(BUSYBOX, ["--list-full"], { encoding: "utf8" }).split("\n").filter((a) => a.includes("/"))
      mkdirSync(dir, { mode: 0o755 })
      const paths: Array<string> = [dir]
      for (const [path, mode] of DIRECTORIES) {
        mkdirSync(join(dir, path))
        chmodSync(join(dir, path), mode)
        paths.push(join(dir, path))
      }
      copyFileSync(BUSYBOX, join(dir, "bin/busybox"))
      chmodSync(join(dir, "bin/busybox"), 0o755)
      paths.push(join(dir, "bin/busybox"))
      for (const applet of applets) {
        if (applet === "bin/busybox") continue
        mkdirSync(dirname(join(dir, applet)), { recursive: true })
        symlinkSync("/bin/busybox", join(dir, applet))
        paths.push(join(dir, applet))
      }
      const files: Record<string, string> = {
        "etc/passwd": PASSWD,
        "etc/group": GROUP,
        "etc/hosts": HOSTS,
        "etc/os-release": `NAME="BusyBox"\nID=busybox\nVERSION_ID=${version}\nPRETTY_NAME="BusyBox v${version} (static, from the host)"\n`
      }
      for (const [path, content] of Object.entries(files)) {
        writeFileSync(join(dir, path), content, { mode: 0o644 })
        paths.push(join(dir, path))
      }
      for (const path of paths) lchownSync(path, uid, gid)
      return version
    },
    catch: internal("cannot build the busybox base image")
  })
