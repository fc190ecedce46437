import { Deferred, Effect, Exit, FiberId, Queue, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import type { Readable, Writable } from "node:stream"
import type { OutputStream } from "../../domain/OutputStream.js"
import { type CgroupLimits, type CgroupSupport, type CgroupUsage, type RunCgroup, runCgroup } from "../host/Cgroup.js"
import { awaitSandboxEnd, processIdentity } from "../host/HostProcess.js"
import { gidMapLine, type IdMapping, uidMapLine } from "../host/IdMapping.js"
import { describeCause, internal, LocalEngineError } from "../LocalEngineError.js"
import { OutputCapture } from "./OutputCapture.js"
import type { NetworkHelperName } from "./SandboxNetwork.js"
import { STAGE0, STAGE1, STAGE2 } from "./SandboxScript.js"

/** The image a sandbox process mounts ahead, as a guess of what its run will use (see SandboxScript). */
export interface ImageGuess {
  readonly lowers: string
  readonly rootMode: string
  readonly rootOwner: string
}

/** What one run asks of a prepared sandbox process (see SandboxScript for the protocol). */
export interface SandboxLaunch extends ImageGuess {
  /** Names the run's directory, `runs/<runId>`. */
  readonly runId: string
  readonly mode: "run" | "flatten"
  /** Wait for `save` after the command and copy the upper dir to `runs/<runId>/out`. */
  readonly keep: boolean
  /**
   * bwrap's options after `--bind ROOT /` (ROOT: the merged tree), handed over by file and passed
   * by descriptor (`--args`): the sandbox's pid 1 (bwrap) shows none of them in its command line.
   */
  readonly bwrapArgs: ReadonlyArray<string>
  /** The command bwrap runs (after `--`). */
  readonly command: ReadonlyArray<string>
  readonly stdin: Uint8Array
  readonly timeoutMs: number | null
  readonly truncateAt: number
  /** Outbound access through this helper; the command starts only once it is up. Loopback only when undefined. */
  readonly network?: NetworkHelperName | undefined
  /** The groups bwrap, and so the command, starts with; undefined: the sandbox's root group alone. */
  readonly groups?: { readonly gid: number; readonly supplementary: ReadonlyArray<number> } | undefined
}

/** What the engine knows about this host that every sandbox needs. */
export interface SandboxHost {
  /** The state directory's `sandbox/` (StatePaths): all a setup process reaches once it is the sandbox's root. */
  readonly stateDir: string
  readonly ids: IdMapping
  readonly root: boolean
  /** Size of the tmpfs holding the upper dir; null puts the upper dir on disk under `runs/`. */
  readonly diskBytes: number | null
  /** `letter=value` pairs for bash's `ulimit`, used when there are no cgroups. */
  readonly ulimits: string
  readonly cgroups: CgroupSupport
  readonly limits: CgroupLimits
}

export interface SandboxOutcome {
  /** bwrap's exit status: the command's, or 128+N when a signal ended it. */
  readonly exitCode: number
  readonly timedOut: boolean
  readonly stdout: OutputStream
  readonly stderr: OutputStream
  /** From the command's start to its end. */
  readonly elapsedSeconds: number
  readonly usage: CgroupUsage | undefined
}

type Event =
  | { readonly _tag: "Line"; readonly line: string }
  | { readonly _tag: "Closed"; readonly code: number | null; readonly signal: string | null }
  /** The command's stdout or stderr relay has closed: all of that stream is in. */
  | { readonly _tag: "OutputEnded" }
  | { readonly _tag: "SpawnFailed"; readonly error: Error }

/** The PATH of sandbox processes unless a run sets its own. */
export const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/** The process tree of one sandbox, from its setup process on, and how to take it down. */
export class Session {
  /** Host pid of the sandbox's pid 1 (bwrap's init), once bwrap has reported it. */
  pid1: number | undefined
  commandEnded = false
  /** The setup process has exited and every holder of its pipes has closed them. */
  ended = false
  readonly closed = Deferred.unsafeMake<void>(FiberId.none)
  /** Where the command's output goes: nowhere until a run takes the process. */
  stdout: OutputCapture | undefined
  stderr: OutputCapture | undefined

  constructor(readonly child: ChildProcess, readonly events: Queue.Queue<Event>) {}

  end(): void {
    this.ended = true
    Deferred.unsafeDone(this.closed, Exit.void)
  }

  get control(): Writable & Readable {
    return this.child.stdio[3] as Writable & Readable
  }

  send(line: string): void {
    this.control.write(`${line}\n`)
  }

  /** Kills the sandbox's pid 1, which takes its whole pid namespace down with it. */
  killSandbox(): void {
    if (this.pid1 === undefined || this.commandEnded) return
    try {
      process.kill(this.pid1, "SIGKILL")
    } catch {
      // already gone
    }
  }

  /** Kills the sandbox and the setup process's whole group (relays and bwrap included, even one still being exec'd). */
  killAll(): void {
    this.killSandbox()
    const pid = this.child.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      // the group is already gone
    }
  }

  /**
   * Leaves no process behind: the setup process, all it started and every process of the sandbox
   * are gone when this ends. It runs as a finalizer, so the waits are made interruptible for their
   * time limits to work.
   */
  readonly stop = Effect.suspend(() => {
    if (!this.ended) this.killAll()
    return Deferred.await(this.closed).pipe(
      Effect.interruptible,
      Effect.timeout("5 seconds"),
      Effect.ignore,
      Effect.zipRight(this.pid1 === undefined ? Effect.void : awaitSandboxEnd(this.pid1, 5_000)),
      Effect.asVoid
    )
  })
}

const start = (host: SandboxHost, cgroup: RunCgroup | undefined, next: ImageGuess | undefined, events: Queue.Queue<Event>) =>
  Effect.sync(() => {
    const child = spawn("/bin/bash", ["--norc", "--noprofile", "-c", STAGE0, "contree", STAGE1, STAGE2, ...(cgroup?.procs ?? [])], {
      // fd 4: bwrap's start gate for a run with a network, one byte once the helper has the interface up.
      stdio: ["pipe", "pipe", "pipe", "pipe", "pipe"],
      // Its own process group: a cancel kills everything the setup process started at once.
      detached: true,
      env: {
        PATH: SANDBOX_PATH,
        LC_ALL: "C",
        CONTREE_STATE: host.stateDir,
        CONTREE_DISK: host.diskBytes === null ? "" : String(host.diskBytes),
        CONTREE_GROUPS: host.root ? "--clear-groups" : "--keep-groups",
        CONTREE_ULIMITS: host.ulimits,
        CONTREE_NEXT_LOWERS: next?.lowers ?? "",
        CONTREE_NEXT_MODE: next?.rootMode ?? "",
        CONTREE_NEXT_OWNER: next?.rootOwner ?? ""
      }
    })
    const session = new Session(child, events)
    let pending = ""
    session.control.setEncoding("utf8")
    session.control.on("data", (text: string) => {
      pending += text
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        Queue.unsafeOffer(events, { _tag: "Line", line: pending.slice(0, nl) })
        pending = pending.slice(nl + 1)
      }
    })
    session.control.on("error", () => undefined)
    // The gate of a sandbox that died before its network was up.
    child.stdio[4]?.on("error", () => undefined)
    child.stdout!.on("data", (chunk: Buffer) => session.stdout?.push(chunk))
    child.stderr!.on("data", (chunk: Buffer) => session.stderr?.push(chunk))
    child.stdout!.on("end", () => Queue.unsafeOffer(events, { _tag: "OutputEnded" }))
    child.stderr!.on("end", () => Queue.unsafeOffer(events, { _tag: "OutputEnded" }))
    // A command that never reads its input closes the pipe early; that is not an error.
    child.stdin!.on("error", () => undefined)
    child.on("error", (error) => {
      Queue.unsafeOffer(events, { _tag: "SpawnFailed", error })
      session.end()
    })
    child.on("close", (code, signal) => {
      Queue.unsafeOffer(events, { _tag: "Closed", code, signal })
      session.end()
    })
    return session
  })

/** Writes the namespace's id maps (the setup process waits for them in stage 1). */
const mapIds = (pid: number, host: SandboxHost) =>
  Effect.try({
    try: () => {
      writeFileSync(`/proc/${pid}/uid_map`, uidMapLine(host.ids))
      // An unprivileged process may map its gid only once setgroups(2) is off for good.
      if (!host.root) writeFileSync(`/proc/${pid}/setgroups`, "deny")
      writeFileSync(`/proc/${pid}/gid_map`, gidMapLine(host.ids))
    },
    catch: (error) => new Error(`cannot map the sandbox's user ids: ${describeCause(error)}`)
  })

const PREPARE_LIMIT = "60 seconds"

/** A setup process that has done all a run does not choose and waits for one (see SandboxScript). */
export interface PreparedSandbox {
  readonly session: Session
  /** `pid:starttime` of the setup process: what a cancel from another server process kills. */
  readonly identity: string
  readonly cgroup: RunCgroup | undefined
  /**
   * Runs once the run is handed over, while the server only waits for bwrap: the moment for
   * background work that blocks the event loop (spawning a process from Node takes milliseconds).
   */
  readonly afterHandOver: (launch: SandboxLaunch) => Effect.Effect<void>
}

const setupFailed = (event: Exclude<Event, { readonly _tag: "OutputEnded" }>, diagnostics: ReadonlyArray<string>): LocalEngineError => {
  if (event._tag === "SpawnFailed") {
    return new LocalEngineError({
      reason: "Unavailable",
      message: `cannot start a sandbox (bash is needed): ${event.error.message}`
    })
  }
  const detail = diagnostics.length > 0 ? ` (${diagnostics.join("; ")})` : ""
  if (event._tag === "Line") return internal("the sandbox failed")(`${event.line.slice(6)}${detail}`)
  const how = event.signal === null ? `exit status ${event.code}` : `signal ${event.signal}`
  return internal("the sandbox ended unexpectedly")(`${how}${detail}`)
}

/**
 * Starts a setup process and takes it to `prepared`: namespaces, id maps, its own cgroup with
 * the run limits, scratch space and stdio relays. Closing the scope kills it and all it started,
 * and removes the cgroup; a process never handed a run leaves nothing else behind.
 */
export const prepareSandbox = (
  host: SandboxHost,
  name: string,
  next: ImageGuess | undefined
): Effect.Effect<PreparedSandbox, LocalEngineError, Scope.Scope> =>
  Effect.gen(function*() {
    const cgroup = yield* runCgroup(host.cgroups, name, host.limits).pipe(Effect.mapError(internal("cannot set the run's limits")))
    const events = yield* Queue.unbounded<Event>()
    const session = yield* Effect.acquireRelease(start(host, cgroup, next, events), (s) => s.stop)
    const diagnostics: Array<string> = []
    yield* Effect.gen(function*() {
      while (true) {
        const event = yield* Queue.take(events)
        // A relay that ended early means the process is going: its Closed event follows.
        if (event._tag === "OutputEnded") continue
        if (event._tag !== "Line" || event.line.startsWith("error ")) return yield* setupFailed(event, diagnostics)
        if (event.line === "prepared") return
        if (event.line === "ready") {
          const pid = session.child.pid!
          yield* mapIds(pid, host).pipe(Effect.mapError((error) => internal("cannot prepare the sandbox")(error.message)))
          session.send("go")
        } else if (event.line.length > 0) {
          diagnostics.push(event.line)
        }
      }
    }).pipe(
      // A run's own time limit starts at the hand-over: this one bounds a set-up that hangs (a stuck mount).
      Effect.timeoutFail({ duration: PREPARE_LIMIT, onTimeout: () => internal("the sandbox did not start")("its set-up hung") })
    )
    const pid = session.child.pid!
    return { session, identity: processIdentity(pid) ?? `${pid}:0`, cgroup, afterHandOver: () => Effect.void }
  })

/** `runs/<id>/launch`: the run's parameters, NUL-separated, in the order SandboxScript reads them. */
