import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { pollUntil } from "./Polling.js"

/** State, kernel flags and start time (clock ticks since boot) of a process, from `/proc/PID/stat`; undefined once reaped. */
const stat = (pid: number): { readonly state: string; readonly flags: number; readonly start: string } | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1")
  } catch {
    return undefined
  }
  // The command name may hold spaces and parentheses: fields are counted from the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0] ?? "", flags: Number(fields[6] ?? 0), start: fields[19] ?? "" }
}

const exited = (state: string) => state === "Z" || state === "X"

/** `pid:starttime`: names one process for the life of the machine, though pids are reused. */
export const processIdentity = (pid: number): string | undefined => {
  const s = stat(pid)
  return s === undefined ? undefined : `${pid}:${s.start}`
}

/** Whether the process named by `identity` (`pid:starttime`, maybe with a suffix) still runs; a zombie has ended. */
export const isRunning = (identity: string): boolean => {
  const [pid, start] = identity.split(":")
  const s = stat(Number(pid))
  return s !== undefined && s.start === start && !exited(s.state)
}

/** Sends SIGKILL to the process group led by the process named by `identity`, if that process still runs. */
export const killGroup = (identity: string): void => {
  if (!isRunning(identity)) return
  try {
    process.kill(-Number(identity.split(":")[0]), "SIGKILL")
  } catch {
    // it ended between the check and the kill
  }
}

/** One turn of Node's event loop: shorter than any timer, and pending I/O still runs. */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** How long a wait watches every turn of the event loop before it sleeps between looks. */
const CLOSE_WATCH_MS = 5

/** The kernel's PF_EXITING: the process is in exit(2), and can start nothing any more. */
const PF_EXITING = 0x4

const hasChildren = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").trim() !== ""
  } catch {
    // without the file, count on the end of pid 1 alone
    return true
  }
}

/**
 * Waits until the pid namespace whose pid 1 is `pid1` holds no process that can still act:
 * pid 1 has ended, or it is exiting with no child left (every process of a pid namespace
 * descends from its pid 1, and the exiting pid 1 starts nothing). The second is what a command's
 * end looks like: pid 1 then spends milliseconds tearing down its namespaces, which nothing
 * waits for. It comes about a millisecond after bwrap reports the end, so the first
 * milliseconds are watched closely rather than slept through.
 */
export const awaitSandboxEnd = (pid1: number, within: number): Effect.Effect<boolean> => {
  const gone = () => {
    const s = stat(pid1)
    return s === undefined || exited(s.state) || ((s.flags & PF_EXITING) !== 0 && !hasChildren(pid1))
  }
  // Interruptible even inside a finalizer, or the time limit could not stop the wait.
  return Effect.suspend(() => {
    const started = performance.now()
    return pollUntil(
      Effect.sync(gone),
      (ended) => ended,
      Effect.suspend(() => (performance.now() - started < CLOSE_WATCH_MS ? nextTurn : Effect.sleep("2 millis")))
    )
  }).pipe(Effect.interruptible, Effect.timeoutTo({ duration: within, onTimeout: () => false, onSuccess: (ended) => ended }))
}

export const selfIdentity = (): string => processIdentity(process.pid) ?? `${process.pid}:0`
