import { Effect } from "effect"
import type { Stats } from "node:fs"
import { posix } from "node:path"
import { type IdMapping, toHostGid, toHostUid } from "../host/IdMapping.js"
import { describeCause, invalidRequest, LocalEngineError } from "../LocalEngineError.js"
import type { LayerStack, MergedEntry } from "../images/LayerStack.js"

/** A file to place in the sandbox before its command starts. */
export interface InjectedFile {
  /** Absolute, normalised path in the image. */
  readonly path: string
  /** Host path of the uploaded bytes, and their sha256. */
  readonly source: string
  readonly sha256: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/** A mode and owner on the host (layer files carry host ids). */
export interface HostAttributes {
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/**
 * What a run's files layer holds, every path canonical (symlinks resolved inside the image): the
 * directories, parents first, and the files. It depends only on the image's directories it
 * covers and on the files, so equal plans make equal layers.
 */
export interface InjectionPlan {
  readonly root: HostAttributes
  readonly directories: ReadonlyArray<{ readonly path: string } & HostAttributes>
  readonly files: ReadonlyArray<{ readonly path: string; readonly source: string; readonly sha256: string } & HostAttributes>
}

class Refused extends Error {}

const attributes = (stats: Stats): HostAttributes => ({ mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid })

/**
 * Plans where the injected files go, and the working directory when the image lacks it: every
 * directory on the way that the image has is taken with its mode and owner (as overlayfs would
 * copy it up), a missing one is made root's with mode 0755, and a symlink on the way is resolved
 * inside the image, so nothing is ever placed outside it. A file whose path is a directory of the
 * image, or a path through a non-directory, is refused. `undefined` when there is nothing to place.
 */
export const planInjection = (
  stack: LayerStack,
  files: ReadonlyArray<InjectedFile>,
  cwd: string,
  ids: IdMapping
): Effect.Effect<InjectionPlan | undefined, LocalEngineError> =>
  Effect.try({
    try: () => {
      const root = stack.root()
      const workdirExists = stack.resolve(cwd, true)?.stats.isDirectory() === true
      if (files.length === 0 && workdirExists) return undefined
      const hostIds = (uid: number, gid: number) => {
        const hostUid = toHostUid(ids, uid)
        const hostGid = toHostGid(ids, gid)
        if (hostUid === undefined || hostGid === undefined) {
          throw new Refused(`uid ${uid} and gid ${gid} are not available: without root the sandbox has only uid 0 and gid 0`)
        }
        return [hostUid, hostGid] as const
      }
      const [rootUid, rootGid] = hostIds(0, 0)
      const directories = new Map<string, HostAttributes>()
      const placed = new Map<string, InjectionPlan["files"][number]>()
      const place = (path: string, stats: Stats | undefined) => {
        if (placed.has(path)) throw new Refused(`${path} is both a file given and a directory of another file (or the working directory)`)
        if (!directories.has(path)) directories.set(path, stats === undefined ? { mode: 0o755, uid: rootUid, gid: rootGid } : attributes(stats))
      }

      // A project has far fewer directories than files: each is resolved once, and remembered with
      // the image's entry there (undefined where the image has none).
      const resolved = new Map<string, { readonly canonical: string; readonly entry: MergedEntry | undefined }>([["/", { canonical: "/", entry: root }]])
      /** Makes the directory at `path` part of the plan; returns its path with symlinks resolved, and the image's entry. */
      const directory = (path: string): { readonly canonical: string; readonly entry: MergedEntry | undefined } => {
        const known = resolved.get(path)
        if (known !== undefined) return known
        let canonical = "/"
        let entry: MergedEntry | undefined = root
        for (const name of path.split("/").filter((part) => part !== "")) {
          const child: MergedEntry | undefined = entry === undefined ? undefined : stack.child(entry, name)
          if (child !== undefined && child.stats.isSymbolicLink()) {
            const target = stack.resolve(posix.join(canonical, name), true)
            if (target === undefined || !target.stats.isDirectory()) throw new Refused(`${posix.join(canonical, name)} is not a directory`)
            // The target's ancestors are directories of the image: each is taken as it is.
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
        const found = { canonical, entry }
        resolved.set(path, found)
        return found
      }

      // Which names are directories, per directory of the image that files go into: a readdir per layer, not an lstat per file.
      const directoryNames = new Map<string, ReadonlySet<string>>()
      const directoryNamesIn = (path: string, entry: MergedEntry) => {
        let names = directoryNames.get(path)
        if (names === undefined) directoryNames.set(path, names = stack.directoryNames(entry))
        return names
      }

      if (!workdirExists) directory(cwd)
      for (const file of files) {
        const parent = directory(posix.dirname(file.path))
        const name = posix.basename(file.path)
        const path = posix.join(parent.canonical, name)
        if (directories.has(path)) throw new Refused(`${path} is both a file given and a directory of another file (or the working directory)`)
        if (parent.entry !== undefined && directoryNamesIn(parent.canonical, parent.entry).has(name)) {
          throw new Refused(`${file.path} is a directory in the image`)
        }
        const [uid, gid] = hostIds(file.uid, file.gid)
        // Two requested paths may name one file through a symlink: the later one wins, as a second copy would.
        placed.delete(path)
        placed.set(path, { path, source: file.source, sha256: file.sha256, mode: file.mode, uid, gid })
      }
      return {
        root: attributes(root.stats),
        directories: [...directories].map(([path, attrs]) => ({ path, ...attrs })),
        // By path: the same files given in another order make the same layer.
        files: [...placed.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      }
    },
    catch: (error) =>
      error instanceof Refused
        ? invalidRequest(`cannot place the run's files: ${error.message}`)
        : new LocalEngineError({ reason: "Internal", message: `cannot place the run's files: ${describeCause(error)}`, cause: error })
  })
