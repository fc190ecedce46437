import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { accessSync, constants, readFileSync } from "node:fs"
import { release } from "node:os"
import { join } from "node:path"
import { type CgroupSupport, describeCgroups, detectCgroups } from "./Cgroup.js"
import { type IdMapping, idMapping } from "./IdMapping.js"
import type { LocalSettings } from "../LocalEngineOptions.js"
import { describeSeccomp, hostSeccompArch, type SeccompArch } from "../sandbox/Seccomp.js"
import { describeNetwork, NETWORK_HELPERS, type NetworkHelperName } from "../sandbox/SandboxNetwork.js"

/** The programs a sandbox (and an import: tar makes whiteouts, setfattr marks opaque directories) needs, and their Debian packages. */
const REQUIRED: ReadonlyArray<readonly [string, string]> = [
  ["bwrap", "bubblewrap"],
  ["unshare", "util-linux"],
  ["setpriv", "util-linux"],
  ["getfattr", "attr"],
  ["setfattr", "attr"],
  ["tar", "tar"],
  ["bash", "bash"],
  ["cp", "coreutils"]
]

/** What this machine offers the engine, found once at start-up; `contree-mcp doctor` prints it. */
export interface HostCapabilities {
  readonly root: boolean
  readonly ids: IdMapping
  readonly kernel: string
  readonly bwrapVersion: string | undefined
  /** Programs (with their package) that are not installed. */
  readonly missing: ReadonlyArray<string>
  /** Why user namespaces cannot be used, if they cannot. */
  readonly usernsProblem: string | undefined
  /** Upper dirs on a tmpfs need user xattrs there (Linux 6.6+); otherwise they live on disk without a quota. */
  readonly tmpfsUpper: boolean
  readonly cgroups: CgroupSupport
  /** The helper networked runs use: the preferred one if installed, else the first installed; undefined when none is. */
  readonly networkHelper: NetworkHelperName | undefined
  /** The arch whose syscall numbers the sandboxes' seccomp filter uses; undefined where it has none (no sandbox runs unfiltered). */
  readonly seccompArch: SeccompArch | undefined
}

/** The program's path on PATH (or the usual sbin and bin directories), if installed. */
export const findProgram = (name: string): string | undefined => {
  for (const dir of `${process.env["PATH"] ?? ""}:/usr/sbin:/usr/bin:/sbin:/bin`.split(":")) {
    if (dir === "") continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  return undefined
}

const kernelAtLeast = (version: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = version.split(/[.-]/).map(Number)
  return a > major || (a === major && b >= minor)
}

const readSetting = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch {
    return undefined
  }
}

const usernsProblem = (root: boolean): string | undefined => {
  if (readSetting("/proc/sys/user/max_user_namespaces") === "0") return "user namespaces are disabled (user.max_user_namespaces = 0)"
  if (!root && readSetting("/proc/sys/kernel/unprivileged_userns_clone") === "0") {
    return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
  }
  return undefined
}

export const probeHost = (settings: LocalSettings): Effect.Effect<HostCapabilities> =>
  Effect.sync(() => {
    const root = process.getuid?.() === 0
    const bwrap = findProgram("bwrap")
    let bwrapVersion: string | undefined
    try {
      bwrapVersion = bwrap === undefined ? undefined : execFileSync(bwrap, ["--version"], { encoding: "utf8" }).trim().split(" ").pop()
    } catch {
      bwrapVersion = undefined
    }
    return {
      root,
      ids: idMapping(root, settings.idBase),
      kernel: release(),
      bwrapVersion,
      missing: REQUIRED.filter(([program]) => findProgram(program) === undefined).map(([program, pkg]) => `${program} (${pkg})`),
      usernsProblem: usernsProblem(root),
      tmpfsUpper: kernelAtLeast(release(), 6, 6),
      cgroups: detectCgroups(),
      networkHelper: [...(settings.networkHelper === undefined ? [] : [settings.networkHelper]), ...NETWORK_HELPERS]
        .find((helper) => findProgram(helper) !== undefined),
      seccompArch: hostSeccompArch()
    }
  })

/** Why sandboxes cannot run here, if they cannot. */
export const unavailableReason = (host: HostCapabilities): string | undefined =>
  host.missing.length > 0
    ? `the local backend needs ${host.missing.join(", ")}: install them (Debian: apt-get install bubblewrap attr)`
    : host.seccompArch === undefined
    ? `the sandboxes' seccomp filter knows no syscall numbers for ${process.arch} (x86_64 and aarch64 only)`
    : host.usernsProblem

const size = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(bytes % 1024 ** 3 === 0 ? 0 : 1)} GiB`

/** One line per fact: the isolation and the limits in force, for `doctor` and the start-up log. */
export const describeHost = (host: HostCapabilities, settings: LocalSettings): ReadonlyArray<string> => {
  const cg = host.cgroups
  const capped = (controller: string) =>
    cg._tag === "V1" ? controller in cg.parents : cg._tag === "V2" ? cg.controllers.includes(controller) : false
  const limit = (what: string, value: number | null, controller: string, fallback: string | undefined, show: (v: number) => string) =>
    value === null
      ? `${what}: no cap`
      : capped(controller)
      ? `${what}: ${show(value)} per run (cgroup ${controller})`
      : fallback === undefined
      ? `${what}: not capped (no cgroup ${controller} controller, and no rlimit equivalent)`
      : `${what}: ${show(value)} (${fallback}; no cgroup ${controller} controller)`
  return [
    `sandbox: bubblewrap ${host.bwrapVersion ?? "(missing)"} on overlayfs, set up with unshare; kernel ${host.kernel}`,
    "isolation: new user, mount, pid, ipc, uts, cgroup and network namespaces; " +
    "a cleared environment (plus PATH and HOME=/root); effective capabilities limited to Docker's default set (the bounding set is not narrowed), no new privileges",
    describeSeccomp(host.seccompArch),
    host.root
      ? `ids: sandbox ids 0-65535 are host ids ${host.ids.uid}-${host.ids.uid + 65535} (never the host's root)`
      : `ids: the sandbox's root is host uid ${host.ids.uid}; no other id exists in the sandbox (unprivileged)`,
    describeNetwork(settings.network, host.networkHelper),
    `control groups: ${describeCgroups(cg)}`,
    "time: every run has its timeout; the whole pid namespace is killed when it hits",
    limit("memory", settings.memoryBytes, "memory", "RLIMIT_DATA of each process", size),
    limit("processes", settings.pids, "pids", "RLIMIT_NPROC of the sandbox's user", String),
    limit("cpu", settings.cpus, "cpu", undefined, (n) => `${n} CPUs`),
    settings.diskBytes === null
      ? "disk: no cap (upper dirs on disk)"
      : host.tmpfsUpper
      ? `disk: ${size(settings.diskBytes)} per run (tmpfs upper dir; it also counts as the run's memory)`
      : "disk: no cap (tmpfs has no user xattrs before Linux 6.6, so upper dirs live on disk)",
    cg._tag === "None"
      ? "resource usage: elapsed time only (CPU and memory figures need cgroups)"
      : "resource usage: CPU time, peak memory and page faults of the run's cgroup; elapsed time",
    `queue: at most ${settings.maxConcurrentRuns} runs at once in this process`,
    settings.maxImportBytes === null
      ? "imports: no cap on the bytes an import unpacks"
      : settings.maxImportBytes === "free-space"
      ? "imports: each may unpack the data directory's free space less a tenth of its filesystem (at most 1 GiB); max-import-bytes sets a cap"
      : `imports: each may unpack at most ${size(settings.maxImportBytes)}`,
    ...(unavailableReason(host) === undefined ? [] : [`UNAVAILABLE: ${unavailableReason(host)}`])
  ]
}
