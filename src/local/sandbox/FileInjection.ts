import { Effect } from "effect"
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, type Stats } from "node:fs"
import { posix } from "node:path"
import { type IdMapping, toHostGid, toHostUid } from "../host/IdMapping.js"
import { describeCause, invalidRequest, LocalEngineError } from "../LocalEngineError.js"
import type { LayerStack, MergedEntry } from "../images/LayerStack.js"

/** A file to place in the sandbox before its command starts. */
export interface InjectedFile {
  /** Absolute, normalised path in the image. */
  readonly path: string
  /** Host path of the uploaded bytes. */
  readonly source: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

class Refused extends Error {}

/**
 * Builds `seedDir`, a fragment of the run's upper dir that the setup process copies in before
 * mounting: the injected files with their modes and owners, the working directory when the image
 * lacks it, and every directory on the way. A directory the image already has is copied up with
 * its mode and owner, as overlayfs would; symlinks on the way are resolved inside the image, so
 * nothing is ever written outside the seed. Nothing is created when there is nothing to place.
 */
export const buildSeed = (
  stack: LayerStack,
  seedDir: string,
  files: ReadonlyArray<InjectedFile>,
  cwd: string,
  ids: IdMapping
): Effect.Effect<void, LocalEngineError> =>
  Effect.try({
    try: () => {
      const root = stack.root()
      const workdirExists = stack.resolve(cwd, true)?.stats.isDirectory() === true
      if (files.length === 0 && workdirExists) return
      const hostIds = (uid: number, gid: number) => {
        const hostUid = toHostUid(ids, uid)
        const hostGid = toHostGid(ids, gid)
        if (hostUid === undefined || hostGid === undefined) {
          throw new Refused(`uid ${uid} and gid ${gid} are not available: without root the sandbox has only uid 0 and gid 0`)
        }
        return [hostUid, hostGid] as const
      }
      const [rootUid, rootGid] = hostIds(0, 0)
      // Modes are applied last: a read-only directory of the image must not stop the files going in.
      const modes: Array<readonly [string, number]> = []
      const place = (path: string, stats: Stats | undefined) => {
        const target = seedDir + path
        if (existsSync(target)) return
        mkdirSync(target, { mode: 0o700 })
        chownSync(target, stats?.uid ?? rootUid, stats?.gid ?? rootGid)
        modes.push([target, stats === undefined ? 0o755 : stats.mode & 0o7777])
      }
      place("", root.stats)

      /** Makes the directory at `path` exist in the seed; returns its path with symlinks resolved. */
      const directory = (path: string): string => {
        let canonical = "/"
        let entry: MergedEntry | undefined = root
        for (const name of path.split("/").filter((part) => part !== "")) {
          const child: MergedEntry | undefined = entry === undefined ? undefined : stack.child(entry, name)
          if (child !== undefined && child.stats.isSymbolicLink()) {
            const target = stack.resolve(posix.join(canonical, name), true)
            if (target === undefined || !target.stats.isDirectory()) throw new Refused(`${posix.join(canonical, name)} is not a directory`)
            // The target's ancestors are directories of the image: copy each of them up.
            let prefix = ""
            for (const part of target.path.split("/").filter((p) => p !== "")) {
              prefix += `/${part}`
              place(prefix, stack.resolve(prefix, false)!.stats)
            }
            canonical = target.path
            entry = target
          } else if (child !== undefined && !child.stats.isDirectory()) {
            throw new Refused(`${child.path} is not a directory`)
          } else {
            canonical = posix.join(canonical, name)
            entry = child
            place(canonical, child?.stats)
          }
        }
        return canonical
      }

      if (!workdirExists) directory(cwd)
      for (const file of files) {
        const parent = directory(posix.dirname(file.path))
        const path = posix.join(parent, posix.basename(file.path))
        if (stack.resolve(path, false)?.stats.isDirectory() === true) throw new Refused(`${file.path} is a directory in the image`)
        const [uid, gid] = hostIds(file.uid, file.gid)
        copyFileSync(file.source, seedDir + path)
        chmodSync(seedDir + path, file.mode)
        chownSync(seedDir + path, uid, gid)
      }
      for (const [dir, mode] of modes.reverse()) chmodSync(dir, mode)
    },
    catch: (error) =>
      error instanceof Refused
        ? invalidRequest(`cannot place the run's files: ${error.message}`)
        : new LocalEngineError({ reason: "Internal", message: `cannot place the run's files: ${describeCause(error)}`, cause: error })
  })
