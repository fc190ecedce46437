import { Effect, Schedule } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs"
import { rmdir } from "node:fs/promises"
import { basename, join } from "node:path"
import { processIdentity } from "./HostProcess.js"
import { pollUntil } from "./Polling.js"
import { describeCause } from "../LocalEngineError.js"

/**
 * Per-run control groups: the memory, pids and CPU caps of a run, and the figures its resource
 * usage is read from. Each sandbox gets its own group below the server's own (so whatever limits
 * the server lives under still apply), made when its setup process is prepared, ahead of its run. cgroup v1 (one hierarchy per controller) and v2 are both used
 * when this process may create groups there; otherwise there are none and rlimits stand in.
 */
export type CgroupSupport =
  | { readonly _tag: "V1"; readonly parents: Readonly<Partial<Record<V1Controller, string>>> }
  | { readonly _tag: "V2"; readonly parent: string; readonly controllers: ReadonlyArray<string> }
  | { readonly _tag: "None"; readonly reason: string }

type V1Controller = "memory" | "cpu" | "cpuacct" | "pids"
const V1_CONTROLLERS: ReadonlyArray<V1Controller> = ["memory", "cpu", "cpuacct", "pids"]
const V2_CONTROLLERS = ["memory", "pids", "cpu"]
const PREFIX = "contree-run-"

export interface CgroupLimits {
  readonly memoryBytes: number | null
  readonly pids: number | null
  readonly cpus: number | null
}

export interface CgroupUsage {
  readonly userSeconds: number
  readonly systemSeconds: number
  /** Peak memory of the whole run (anonymous memory, page cache and its tmpfs), KiB. */
  readonly maxRssKiB: number
  readonly pageFaults: number
  readonly majorFaults: number
}

interface Mount {
  readonly root: string
  readonly point: string
  readonly type: string
  readonly options: ReadonlyArray<string>
}

const mounts = (): Array<Mount> =>
  readFileSync("/proc/self/mountinfo", "utf8").split("\n").flatMap((line) => {
    const [left, right] = line.split(" - ")
    if (left === undefined || right === undefined) return []
    const fields = left.split(" ")
    const [type = "", , superOptions = ""] = right.split(" ")
    return [{ root: fields[3] ?? "/", point: fields[4] ?? "", type, options: superOptions.split(",") }]
  })

/** The directory of this process's own group in a hierarchy mounted at `mount`. */
const ownDirectory = (mount: Mount, path: string): string | undefined => {
  if (mount.root !== "/" && !path.startsWith(mount.root)) return undefined
  return join(mount.point, mount.root === "/" ? path : path.slice(mount.root.length))
}

/** Whether groups can be created under `parent` (a trial group is made and removed). */
const writable = (parent: string): boolean => {
  const probe = join(parent, `${PREFIX}${process.pid}-probe`)
  try {
    mkdirSync(probe)
    rmdirSync(probe)
    return true
  } catch {
    return false
  }
}

export const detectCgroups = (): CgroupSupport => {
  let memberships: Array<[string, string]>
  let all: Array<Mount>
  try {
    memberships = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n").map((line) => {
      const [, controllers = "", ...path] = line.split(":")
      return [controllers, path.join(":")]
    })
    all = mounts()
  } catch (error) {
    return { _tag: "None", reason: `cgroups are not readable: ${describeCause(error)}` }
  }
  const v1: Partial<Record<V1Controller, string>> = {}
  for (const controller of V1_CONTROLLERS) {
    const membership = memberships.find(([controllers]) => controllers.split(",").includes(controller))
    const mount = all.find((m) => m.type === "cgroup" && m.options.includes(controller))
    const dir = membership && mount ? ownDirectory(mount, membership[1]) : undefined
    if (dir !== undefined && writable(dir)) v1[controller] = dir
  }
  if (v1.memory !== undefined || v1.pids !== undefined) return { _tag: "V1", parents: v1 }
  const unified = memberships.find(([controllers]) => controllers === "")
  const mount2 = all.find((m) => m.type === "cgroup2")
  const parent = unified && mount2 ? ownDirectory(mount2, unified[1]) : undefined
  if (parent === undefined || !writable(parent)) {
    return { _tag: "None", reason: "this process may not create control groups (not root, and no delegated cgroup)" }
  }
  const control = join(parent, "cgroup.subtree_control")
  const enabled = (): Array<string> => {
    try {
      return readFileSync(control, "utf8").trim().split(/\s+/)
    } catch {
      return []
    }
  }
  const missing = V2_CONTROLLERS.filter((c) => !enabled().includes(c))
  try {
    // Fails when the server's own group holds processes (cgroup v2's no-internal-process rule):
    // runs then get accounting (cpu.stat) but no caps.
    if (missing.length > 0) writeFileSync(control, missing.map((c) => `+${c}`).join(" "))
  } catch {
    // keep whatever is already enabled
  }
  return { _tag: "V2", parent, controllers: enabled().filter((c) => V2_CONTROLLERS.includes(c)) }
}

const readNumber = (file: string): number => Number(readFileSync(file, "utf8").trim())

/** A `key value` per line file (memory.stat, cpu.stat); empty when it cannot be read. */
const readStat = (file: string): Map<string, number> => {
  try {
    return new Map(readFileSync(file, "utf8").trim().split("\n").map((line) => {
      const [key = "", value = ""] = line.split(" ")
      return [key, Number(value)] as const
    }))
  } catch {
    return new Map()
  }
}

const orMinusOne = (read: () => number): number => {
  try {
    const value = read()
    return Number.isFinite(value) ? value : -1
  } catch {
    return -1
  }
}

export interface RunCgroup {
  /**
   * The `cgroup.procs` files a process writes its pid to, to join the group (and so bring
   * everything it starts later). The process joins by itself: moving a process costs
   * milliseconds per hierarchy, better spent in its own time than in the server's event loop.
   */
  readonly procs: ReadonlyArray<string>
  readonly usage: Effect.Effect<CgroupUsage>
}

const attempt = (what: string, f: () => void): Effect.Effect<void, Error> =>
  Effect.try({ try: f, catch: (error) => new Error(`${what}: ${describeCause(error)}`) })

const members = (dir: string): Array<string> => {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter((pid) => pid !== "")
  } catch {
    return []
  }
}

/** Sends SIGKILL to every process still in the group; true if there was any. */
const killMembers = (dir: string): boolean => {
  const pids = members(dir)
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL")
    } catch {
      // it has just exited
    }
  }
  return pids.length > 0
}

/**
 * The group directory of a sandbox's setup process, found from outside the server that made it
 * (another server process cancelling its run): that group holds every process of the sandbox.
 */
export const sandboxGroupOf = (pid: number): string | undefined => {
  try {
    const all = mounts()
    for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
      const [, controllers = "", ...rest] = line.split(":")
      const path = rest.join(":")
      if (!basename(path).startsWith(PREFIX)) continue
      const mount = controllers === ""
        ? all.find((m) => m.type === "cgroup2")
        : all.find((m) => m.type === "cgroup" && controllers.split(",").some((c) => m.options.includes(c)))
      const dir = mount === undefined ? undefined : ownDirectory(mount, path)
      if (dir !== undefined && existsSync(dir)) return dir
    }
  } catch {
    // the process is gone, or its groups cannot be read
  }
  return undefined
}

/** Kills the processes of a group until none is left, for at most `within` ms. */
export const emptyGroup = (dir: string, within: number): Effect.Effect<void> =>
  pollUntil(Effect.sync(() => killMembers(dir)), (left) => !left, Effect.sleep("5 millis")).pipe(Effect.timeout(within), Effect.ignore)

/**
 * Removes a group, killing what is left in it first: a sandbox's pid 1 can outlive its killed
 * parent when the kill lands before bwrap has set its parent-death signal, and only the group
 * still knows it. Exited processes can linger a moment, so the removal is retried.
 */
const removeDirectory = (dir: string): Effect.Effect<void> =>
  // rmdir takes milliseconds (a memory group goes offline): off the event loop, where the next run waits.
  Effect.tryPromise(async () => {
    if (!existsSync(dir)) return
    killMembers(dir)
    await rmdir(dir)
  }).pipe(
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(200)))),
    Effect.catchAll((error) => Effect.logWarning(`could not remove control group ${dir}: ${describeCause(error)}`))
  )

/** Creates the group of one run with its caps; removed when the scope closes. */
export const runCgroup = (support: CgroupSupport, name: string, limits: CgroupLimits) => {
  if (support._tag === "None") return Effect.succeed(undefined)
  const group = `${PREFIX}${process.pid}-${name}`
  if (support._tag === "V1") {
    // Each hierarchy joined costs a write per process moved: only those that cap or count something.
    const needed: ReadonlyArray<V1Controller> = [
      "memory",
      "cpuacct",
      ...(limits.pids === null ? [] : ["pids" as const]),
      ...(limits.cpus === null ? [] : ["cpu" as const])
    ]
    const parents = needed.flatMap((controller) => support.parents[controller] ?? [])
    const dirs = [...new Set(parents)].map((parent) => join(parent, group))
    const dir = (controller: V1Controller) =>
      needed.includes(controller) && support.parents[controller] ? join(support.parents[controller], group) : undefined
    const memory = dir("memory")
    const create = attempt("cannot create the run's control group", () => {
      for (const d of dirs) mkdirSync(d)
      if (memory && limits.memoryBytes !== null) writeFileSync(join(memory, "memory.limit_in_bytes"), String(limits.memoryBytes))
      const pids = dir("pids")
      if (pids && limits.pids !== null) writeFileSync(join(pids, "pids.max"), String(limits.pids))
      const cpu = dir("cpu")
      if (cpu && limits.cpus !== null) writeFileSync(join(cpu, "cpu.cfs_quota_us"), String(Math.round(limits.cpus * 100_000)))
    })
    const cpuacct = dir("cpuacct")
    const usage = Effect.sync((): CgroupUsage => {
      const stat = memory ? readStat(join(memory, "memory.stat")) : new Map<string, number>()
      return {
        userSeconds: cpuacct ? orMinusOne(() => readNumber(join(cpuacct, "cpuacct.usage_user")) / 1e9) : -1,
        systemSeconds: cpuacct ? orMinusOne(() => readNumber(join(cpuacct, "cpuacct.usage_sys")) / 1e9) : -1,
        maxRssKiB: memory ? orMinusOne(() => Math.round(readNumber(join(memory, "memory.max_usage_in_bytes")) / 1024)) : -1,
        pageFaults: stat.get("total_pgfault") ?? -1,
        majorFaults: stat.get("total_pgmajfault") ?? -1
      }
    })
    return Effect.acquireRelease(
      create.pipe(Effect.tapError(() => Effect.forEach(dirs, removeDirectory))),
      () => Effect.forEach(dirs, removeDirectory)
    ).pipe(Effect.as<RunCgroup>({ procs: dirs.map((d) => join(d, "cgroup.procs")), usage }))
  }
  const dir = join(support.parent, group)
  const has = (controller: string) => support.controllers.includes(controller)
  const create = attempt("cannot create the run's control group", () => {
    mkdirSync(dir)
    if (has("memory") && limits.memoryBytes !== null) writeFileSync(join(dir, "memory.max"), String(limits.memoryBytes))
    if (has("pids") && limits.pids !== null) writeFileSync(join(dir, "pids.max"), String(limits.pids))
    if (has("cpu") && limits.cpus !== null) writeFileSync(join(dir, "cpu.max"), `${Math.round(limits.cpus * 100_000)} 100000`)
  })
  const usage = Effect.sync((): CgroupUsage => {
    const cpu = readStat(join(dir, "cpu.stat"))
    const memoryStat = has("memory") ? readStat(join(dir, "memory.stat")) : new Map<string, number>()
    return {
      userSeconds: cpu.has("user_usec") ? cpu.get("user_usec")! / 1e6 : -1,
      systemSeconds: cpu.has("system_usec") ? cpu.get("system_usec")! / 1e6 : -1,
      maxRssKiB: has("memory") ? orMinusOne(() => Math.round(readNumber(join(dir, "memory.peak")) / 1024)) : -1,
      pageFaults: memoryStat.get("pgfault") ?? -1,
      majorFaults: memoryStat.get("pgmajfault") ?? -1
    }
  })
  return Effect.acquireRelease(create.pipe(Effect.tapError(() => removeDirectory(dir))), () => removeDirectory(dir)).pipe(
    Effect.as<RunCgroup>({ procs: [join(dir, "cgroup.procs")], usage })
  )
}

/** Removes the groups of server processes that are gone (names carry the server's pid). */
export const removeStaleCgroups = (support: CgroupSupport): Effect.Effect<void> =>
  Effect.sync(() => {
    const parents = support._tag === "V1" ? [...new Set(Object.values(support.parents))] : support._tag === "V2" ? [support.parent] : []
    for (const parent of parents) {
      for (const name of readdirSync(parent)) {
        if (!name.startsWith(PREFIX) || processIdentity(parseInt(name.slice(PREFIX.length), 10)) !== undefined) continue
        try {
          rmdirSync(join(parent, name))
        } catch {
          // still populated: its processes are exiting
        }
      }
    }
  })

export const describeCgroups = (support: CgroupSupport): string =>
  support._tag === "V1"
    ? `cgroup v1 (${Object.keys(support.parents).join(", ")})`
    : support._tag === "V2"
    ? `cgroup v2 (${support.controllers.length > 0 ? support.controllers.join(", ") : "accounting only"})`
    : `no cgroups: ${support.reason}`
