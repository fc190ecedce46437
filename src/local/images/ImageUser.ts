import { Effect } from "effect"
import { readFileSync } from "node:fs"
import type { IdMapping } from "../host/IdMapping.js"
import type { LayerStack } from "./LayerStack.js"
import { invalidRequest, type LocalEngineError } from "../LocalEngineError.js"

/** Who a run's command runs as inside the sandbox, resolved from an image's `User`. */
export interface RunUser {
  readonly uid: number
  readonly gid: number
  /** Supplementary groups: those of the image's /etc/group that list the user by name. */
  readonly groups: ReadonlyArray<number>
  /** The user's home in the image's /etc/passwd; `/` when it has no entry, as Docker does. */
  readonly home: string
}

/** The image's account files; a missing file reads as empty. */
export interface AccountFiles {
  readonly passwd: string
  readonly group: string
}

interface PasswdEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
}

interface GroupEntry {
  readonly name: string
  readonly gid: number
  readonly members: ReadonlyArray<string>
}

const ID = /^\d+$/
// Past what a sandbox can map; also keeps absurd numbers out of the kernel calls.
const MAX_ID = 0xFFFFFFFE

const fields = (text: string, count: number) =>
  text.split("\n").flatMap((line) => {
    const parts = line.split(":")
    return line.startsWith("#") || parts.length < count || !ID.test(parts[2]!) ? [] : [parts]
  })

const passwdEntries = (text: string): Array<PasswdEntry> =>
  fields(text, 7).flatMap(([name, , uid, gid, , home]) =>
    ID.test(gid!) ? [{ name: name!, uid: Number(uid), gid: Number(gid), home: home! }] : []
  )

const groupEntries = (text: string): Array<GroupEntry> =>
  fields(text, 4).map(([name, , gid, members]) => ({
    name: name!,
    gid: Number(gid),
    members: members!.split(",").map((member) => member.trim()).filter((member) => member !== "")
  }))

/**
 * Resolves `user[:group]` (names or ids) the way Docker does, with the image's files only: a name
 * must exist there, an id need not; without a group the user's primary group (0 for an id the
 * image does not know). Fails with a message naming the image's `User`.
 */
export const resolveUser = (spec: string, files: AccountFiles): Effect.Effect<RunUser, LocalEngineError> =>
  Effect.gen(function*() {
    const refused = (why: string) => invalidRequest(`the image's User ${JSON.stringify(spec)} cannot be used: ${why}`)
    const colon = spec.indexOf(":")
    const userPart = colon < 0 ? spec : spec.slice(0, colon)
    const groupPart = colon < 0 ? undefined : spec.slice(colon + 1)
    if (userPart === "" || groupPart === "") return yield* refused("the user or the group after ':' is empty")
    const users = passwdEntries(files.passwd)
    const entry = ID.test(userPart) ? users.find((u) => u.uid === Number(userPart)) : users.find((u) => u.name === userPart)
    if (entry === undefined && !ID.test(userPart)) return yield* refused(`the image's /etc/passwd has no user ${JSON.stringify(userPart)}`)
    const uid = entry?.uid ?? Number(userPart)
    const groups = groupEntries(files.group)
    let gid = entry?.gid ?? 0
    if (groupPart !== undefined) {
      const group = ID.test(groupPart) ? undefined : groups.find((g) => g.name === groupPart)
      if (!ID.test(groupPart) && group === undefined) return yield* refused(`the image's /etc/group has no group ${JSON.stringify(groupPart)}`)
      gid = group?.gid ?? Number(groupPart)
    }
    if (uid > MAX_ID || gid > MAX_ID) return yield* refused("the id is out of range")
    const supplementary = entry === undefined ? [] : groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid)
    return { uid, gid, groups: [...new Set(supplementary)].filter((g) => g !== gid), home: entry?.home || "/" }
  })

// A sanity bound: account files are small; a huge one is not worth reading on a run's path.
const MAX_ACCOUNT_FILE = 4 * 1024 * 1024

const accountFile = (stack: LayerStack, path: string): string => {
  const entry = stack.resolve(path, true)
  if (entry === undefined || !entry.stats.isFile() || entry.stats.size > MAX_ACCOUNT_FILE) return ""
  return readFileSync(entry.hostPath, "utf8")
}

/** Resolves the image's `User` with its own /etc/passwd and /etc/group (never the host's), within the ids the sandbox maps. */
export const imageUser = (stack: LayerStack, spec: string, ids: IdMapping): Effect.Effect<RunUser, LocalEngineError> =>
  Effect.try({
    try: () => ({ passwd: accountFile(stack, "/etc/passwd"), group: accountFile(stack, "/etc/group") }),
    catch: () => invalidRequest(`the image's User ${JSON.stringify(spec)} cannot be used: its /etc/passwd or /etc/group cannot be read`)
  }).pipe(
    Effect.flatMap((files) => resolveUser(spec, files)),
    Effect.filterOrFail(
      (user) => [user.uid, user.gid, ...user.groups].every((id) => id < ids.count),
      () =>
        invalidRequest(
          `the image's User ${JSON.stringify(spec)} cannot be used: the sandbox maps ids 0-${ids.count - 1} only` +
            (ids.count === 1 ? " (run the server as root for ids beyond 0)" : "")
        )
    )
  )
