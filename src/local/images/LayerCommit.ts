import { Effect } from "effect"
import { lstatSync, readdirSync, rmdirSync, type Stats } from "node:fs"
import { join } from "node:path"
import { internal, type LocalEngineError } from "../LocalEngineError.js"
import type { LayerStack } from "./LayerStack.js"
import { readOpaqueDirs } from "./OpaqueDirs.js"

/** Where bwrap mounts filesystems of its own; it creates the directory when the image has none. */
const SANDBOX_MOUNT_POINTS = ["proc", "dev"]

export type StagedLayer =
  | { readonly _tag: "Unchanged" }
  | { readonly _tag: "Changed"; readonly opaque: ReadonlyArray<string> }

const sameOwnerAndMode = (a: Stats, b: Stats) => a.mode === b.mode && a.uid === b.uid && a.gid === b.gid

/**
 * Checks a run's saved upper dir before it becomes a layer: the empty mount points the sandbox
 * itself created are dropped (they are not the command's doing), an upper dir that is then empty
 * and kept the root's mode and owner means the run changed nothing, and the opaque directories
 * come from the sandbox's `listing` of them (see readOpaqueDirs).
 */
/** What a staged layer weighs: the bytes of its files and symlinks (for `max_layer_bytes`). */
export const treeBytes = (dir: string): number => {
  let total = 0
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const stats = lstatSync(path)
    total += stats.isDirectory() ? treeBytes(path) : stats.isFile() || stats.isSymbolicLink() ? stats.size : 0
  }
  return total
}

export const stageLayer = (image: LayerStack, staged: string, listing: string): Effect.Effect<StagedLayer, LocalEngineError> =>
  Effect.try({
    try: () => {
      const root = image.root()
      for (const name of SANDBOX_MOUNT_POINTS) {
        const path = join(staged, name)
        let stats: Stats
        try {
          stats = lstatSync(path)
        } catch {
          continue
        }
        if (stats.isDirectory() && image.child(root, name) === undefined && readdirSync(path).length === 0) rmdirSync(path)
      }
      return readdirSync(staged).length > 0 || !sameOwnerAndMode(lstatSync(staged), root.stats)
    },
    catch: internal("cannot read the run's changes")
  }).pipe(
    Effect.flatMap((changed) =>
      changed
        ? Effect.map(readOpaqueDirs(listing), (opaque): StagedLayer => ({ _tag: "Changed", opaque }))
        : Effect.succeed<StagedLayer>({ _tag: "Unchanged" })
    )
  )
