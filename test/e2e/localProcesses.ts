// Host processes, read from /proc, for the local-backend e2e tests: what a sandbox left running.
import { readdirSync, readFileSync } from "node:fs"

export interface HostProcess {
  readonly pid: number
  readonly ppid: number
  /** `pid:starttime`: one process for the life of the machine, though pids are reused. */
  readonly identity: string
  readonly cmdline: string
}

const read = (pid: string): HostProcess | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
    // The command name may hold spaces and parentheses: fields are counted from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // A zombie has ended: only its exit status is left for its parent to collect.
    if (fields[0] === "Z" || fields[0] === "X") return undefined
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0$/, "").split("\0").join(" ")
    return { pid: Number(pid), ppid: Number(fields[1]), identity: `${pid}:${fields[19]}`, cmdline }
  } catch {
    return undefined
  }
}

/** Every live (not zombie) process on the host. */
export const hostProcesses = (): Array<HostProcess> =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((pid) => read(pid) ?? [])

/** Live processes whose command line contains `text` (a sandbox's setup process and bwrap carry the command). */
export const processesWith = (text: string): Array<HostProcess> => hostProcesses().filter((p) => p.cmdline.includes(text))

/** Live processes whose command line is exactly `command`. */
export const processesRunning = (command: string): Array<HostProcess> => hostProcesses().filter((p) => p.cmdline === command)

/** Every live descendant of `pid` (a sandbox's processes are host descendants of the server that started it). */
export const descendantsOf = (pid: number): Array<HostProcess> => {
  const all = hostProcesses()
  const found: Array<HostProcess> = []
  const parents = new Set([pid])
  for (let grew = true; grew;) {
    grew = false
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid)
        found.push(p)
        grew = true
      }
    }
  }
  return found
}

/** Which of `processes` still run (same pid and start time, not a zombie). */
export const stillRunning = (processes: ReadonlyArray<HostProcess>): Array<HostProcess> => {
  const live = new Set(hostProcesses().map((p) => p.identity))
  return processes.filter((p) => live.has(p.identity))
}

/** A number unlikely to appear in any other process's command line: a sandbox's processes are found by it. */
export const marker = (): string => String(900_000 + Math.floor(Math.random() * 99_999))
