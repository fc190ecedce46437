import { Effect } from "effect"
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { IdMapping } from "../host/IdMapping.js"
import type { LayerStack } from "../images/LayerStack.js"
import { internal } from "../LocalEngineError.js"

/**
 * The layer a networked run gets on top of its image: only `/etc/resolv.conf`, naming the network
 * helper's DNS forwarder. A lower layer rather than a file in the run's upper dir or a bind mount,
 * so nothing of it ends up in the image the run saves unless the command itself changes the file.
 * `/etc` keeps the image's mode and owner (overlayfs shows the top-most directory's); an image
 * whose `/etc` is not a directory gets nothing.
 */
export const buildResolverLayer = (stack: LayerStack, dir: string, nameserver: string, ids: IdMapping) =>
  Effect.try({
    try: () => {
      mkdirSync(dir, { mode: 0o755 })
      chownSync(dir, ids.uid, ids.gid)
      const etc = stack.child(stack.root(), "etc")
      if (etc !== undefined && !etc.stats.isDirectory()) return
      const etcDir = join(dir, "etc")
      mkdirSync(etcDir)
      chmodSync(etcDir, etc === undefined ? 0o755 : etc.stats.mode & 0o7777)
      chownSync(etcDir, etc?.stats.uid ?? ids.uid, etc?.stats.gid ?? ids.gid)
      const file = join(etcDir, "resolv.conf")
      writeFileSync(file, `nameserver ${nameserver}\n`, { mode: 0o644 })
      chownSync(file, ids.uid, ids.gid)
    },
    catch: internal("cannot write the run's /etc/resolv.conf")
  })
