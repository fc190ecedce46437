import { Effect } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { IdMapping } from "../host/IdMapping.js"
import { removeTree } from "../host/removeTree.js"
import type { LayerStack } from "../images/LayerStack.js"
import { internal } from "../LocalEngineError.js"
import type { StatePaths } from "../store/StatePaths.js"

/**
 * What a container runtime writes into every container, and minimal root filesystems and most
 * registry images do not ship (Docker writes them at run time): `/etc/hosts` naming localhost and
 * the sandbox's hostname, `/etc/hostname`, and for a run with a network `/etc/resolv.conf` naming
 * the network helper's DNS forwarder. They come in a layer of their own, stacked over the image's:
 * a lower layer rather than files in the run's upper dir or bind mounts, so nothing of it is saved
 * into a `disposable=false` image unless the command itself changes a file, and inspecting the
 * image shows it as stored. `/etc` keeps the image's mode and owner (overlayfs shows the top-most
 * directory's); an image whose `/etc` is not a directory gets nothing.
 *
 * The layer depends only on its contents, so it is built once per key and shared by every run
 * that needs it: the overlay's `lowerdir` stays the same from run to run, which is what lets the
 * pool mount the next run's image ahead (see SandboxScript).
 */
export interface RuntimeFiles {
  readonly hostname: string
  /** The DNS forwarder of a run with a network; none for a loopback-only run. */
  readonly nameserver: string | undefined
}

const hostsFile = (hostname: string) =>
  `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`

/** The runtime layer for this image and run, relative to the layers directory (`../runtime/<key>`), built if new. */
export const runtimeLayer = (paths: StatePaths, stack: LayerStack, files: RuntimeFiles, ids: IdMapping) =>
  Effect.gen(function*() {
    const etc = yield* Effect.try({ try: () => stack.child(stack.root(), "etc"), catch: internal("cannot read the image's /etc") })
    if (etc !== undefined && !etc.stats.isDirectory()) return undefined
    const etcMeta = etc === undefined ? { mode: 0o755, uid: ids.uid, gid: ids.gid } : { mode: etc.stats.mode & 0o7777, uid: etc.stats.uid, gid: etc.stats.gid }
    const key = createHash("sha256")
      .update(JSON.stringify([files.hostname, files.nameserver ?? null, etcMeta.mode, etcMeta.uid, etcMeta.gid, ids.uid, ids.gid]))
      .digest("hex")
      .slice(0, 16)
    const target = join(paths.runtime, key)
    if (existsSync(target)) return `../runtime/${key}`
    const staging = join(paths.tmp, `runtime-${key}-${randomBytes(4).toString("hex")}`)
    yield* Effect.try({
      try: () => {
        const own = (path: string) => chownSync(path, ids.uid, ids.gid)
        mkdirSync(staging, { mode: 0o755 })
        own(staging)
        const etcDir = join(staging, "etc")
        mkdirSync(etcDir)
        chmodSync(etcDir, etcMeta.mode)
        chownSync(etcDir, etcMeta.uid, etcMeta.gid)
        const write = (name: string, text: string) => {
          writeFileSync(join(etcDir, name), text, { mode: 0o644 })
          own(join(etcDir, name))
        }
        write("hosts", hostsFile(files.hostname))
        write("hostname", `${files.hostname}\n`)
        if (files.nameserver !== undefined) write("resolv.conf", `nameserver ${files.nameserver}\n`)
        try {
          renameSync(staging, target)
        } catch (error) {
          // Another run (or server process) made the same layer first: theirs is as good as ours.
          const code = (error as NodeJS.ErrnoException).code
          if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error
        }
      },
      catch: internal("cannot write the run's /etc/hosts, /etc/hostname and /etc/resolv.conf")
    }).pipe(Effect.ensuring(Effect.suspend(() => (existsSync(staging) ? removeTree(staging) : Effect.void))))
    return `../runtime/${key}`
  })
