import { Effect } from "effect"
import { chmod, lstat, readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { describeCause } from "../LocalEngineError.js"

/** Gives the owner full access to every directory below `path`: a sandbox may leave `chmod 0` directories behind. */
const openUp = async (path: string): Promise<void> => {
  const stats = await lstat(path)
  if (!stats.isDirectory()) return
  await chmod(path, 0o700)
  for (const name of await readdir(path)) await openUp(join(path, name))
}

/**
 * Removes a directory tree, whatever a sandbox did to its permissions. Never fails: a tree that
 * cannot be removed is logged and left for the next start-up's clean-up.
 */
export const removeTree = (path: string): Effect.Effect<void> =>
  Effect.tryPromise(() => rm(path, { recursive: true, force: true })).pipe(
    Effect.catchAll(() => Effect.tryPromise(() => openUp(path).then(() => rm(path, { recursive: true, force: true })))),
    Effect.catchAll((error) => Effect.logWarning(`could not remove ${path}: ${describeCause(error)}`))
  )
