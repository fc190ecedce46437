// One run in a prepared sandbox: the launch handed over, the setup process's events followed to the run's end.
import { Effect, Fiber, Queue, type Scope } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Writable } from "node:stream"
import type { CgroupUsage } from "../host/Cgroup.js"
import { awaitSandboxEnd } from "../host/HostProcess.js"
import { internal, type LocalEngineError } from "../LocalEngineError.js"
import { OutputCapture } from "./OutputCapture.js"
import type { RunOutputSink } from "./RunOutput.js"
import { attachNetwork } from "./SandboxNetwork.js"
import type { PreparedSandbox, SandboxHost, SandboxLaunch, SandboxOutcome, Session } from "./SandboxProcess.js"

const parseJson = (line: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === "object" && value !== null ? value as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

const numberAfter = (json: Record<string, unknown>, key: string): number | undefined =>
  typeof json[key] === "number" ? json[key] : undefined

const writeLaunch = (launch: SandboxLaunch, host: SandboxHost) =>
  Effect.try({
    try: () => {
      const fields = [
        launch.mode,
        launch.keep ? "1" : "0",
        launch.lowers,
        launch.rootMode,
        launch.rootOwner,
        launch.network === undefined ? "0" : "1",
        launch.groups === undefined ? "" : String(launch.groups.gid),
        launch.groups === undefined ? "" : launch.groups.supplementary.join(","),
        ...launch.command
      ]
      const dir = join(host.stateDir, "runs", launch.runId)
      const nulSeparated = (values: ReadonlyArray<string>) => values.map((value) => `${value}\0`).join("")
      writeFileSync(join(dir, "args"), nulSeparated(launch.bwrapArgs), { mode: 0o644 })
      writeFileSync(join(dir, "launch"), nulSeparated(fields), { mode: 0o644 })
    },
    catch: internal("cannot hand the run to its sandbox")
  })

/** What a run's events have said so far. */
interface RunProgress {
  readonly errors: Array<string>
  readonly diagnostics: Array<string>
  startedAt: number | undefined
  endedAt: number | undefined
  exitCode: number | undefined
  status: number | undefined
  saved: boolean
  usage: CgroupUsage | undefined
  closed: { readonly code: number | null; readonly signal: string | null } | undefined
  outputsEnded: number
}

/** Kills the sandbox when the launch's time limit hits; `timedOut()` says whether it did. */
const startTimer = (launch: SandboxLaunch, session: Session) =>
  Effect.gen(function*() {
    let timedOut = false
    const fiber = launch.timeoutMs === null ? undefined : yield* Effect.sleep(launch.timeoutMs).pipe(
      Effect.zipRight(Effect.sync(() => {
        timedOut = true
        if (session.pid1 === undefined) session.killAll()
        else session.killSandbox()
      })),
      Effect.forkScoped
    )
    return { fiber, timedOut: () => timedOut }
  })

/** Takes in one line of the setup process's control output. */
const onLine = (
  line: string,
  run: RunProgress,
  launch: SandboxLaunch,
  prepared: PreparedSandbox,
  timer: Fiber.RuntimeFiber<void> | undefined
) =>
  Effect.gen(function*() {
    const { cgroup, session } = prepared
    /** Fails the run and takes the sandbox down; the loop goes on until the setup process has closed. */
    const abort = (message: string) =>
      Effect.sync(() => {
        run.errors.push(message)
        session.killAll()
      })
    if (line.startsWith("{")) {
      // bwrap's --json-status-fd: `child-pid` when the sandbox starts, `exit-code` when the command ends.
      const json = parseJson(line)
      const pid1 = numberAfter(json, "child-pid")
      const code = numberAfter(json, "exit-code")
      if (pid1 !== undefined) {
        session.pid1 = pid1
        if (launch.network !== undefined) {
          yield* attachNetwork(launch.network, pid1).pipe(
            Effect.zipRight(Effect.sync(() => (session.child.stdio[4] as Writable).end("1"))),
            Effect.catchAll((error) => abort(error.message))
          )
        }
        run.startedAt = performance.now()
      }
      if (code !== undefined) {
        run.exitCode = code
        run.endedAt = performance.now()
        session.commandEnded = true
      }
    } else if (line.startsWith("status ")) {
      run.status = Number(line.slice(7))
      run.endedAt ??= performance.now()
      session.commandEnded = true
      if (timer !== undefined) yield* Fiber.interrupt(timer)
      // Usage is read, and the upper dir copied, only once every process of the sandbox is gone.
      if (session.pid1 !== undefined) yield* awaitSandboxEnd(session.pid1, 5_000)
      if (cgroup !== undefined) run.usage = yield* cgroup.usage
      if (launch.keep) session.send("save")
    } else if (line === "saved") {
      run.saved = true
    } else if (line.startsWith("error ")) {
      run.errors.push(line.slice(6))
    } else if (line.length > 0) {
      run.diagnostics.push(line)
    }
  })

/** How the run ended, once its events stopped. */
const outcomeOf = (run: RunProgress, launch: SandboxLaunch, timedOut: boolean, stdout: OutputCapture, stderr: OutputCapture) =>
  Effect.gen(function*() {
    const detail = run.diagnostics.length > 0 ? ` (${run.diagnostics.join("; ")})` : ""
    if (run.errors.length > 0) return yield* internal("the sandbox failed")(`${run.errors.join("; ")}${detail}`)
    const finished = launch.mode === "flatten" ? run.saved : run.status !== undefined && (!launch.keep || run.saved)
    if (!finished && timedOut && run.status === undefined) return yield* internal("the sandbox did not start")("its time-out came first")
    if (!finished) {
      // Only the process's end stops the loop before the run is over: `closed` is set.
      const how = run.closed?.signal == null ? `exit status ${run.closed?.code}` : `signal ${run.closed.signal}`
      return yield* internal("the sandbox ended unexpectedly")(`${how}${detail}`)
    }
    const outcome: SandboxOutcome = {
      // Without an exit-code, bwrap failed before the command started; its message is on stderr.
      exitCode: run.exitCode ?? run.status ?? 0,
      timedOut,
      stdout: stdout.toStream(),
      stderr: stderr.toStream(),
      elapsedSeconds: run.startedAt === undefined || run.endedAt === undefined ? 0 : (run.endedAt - run.startedAt) / 1000,
      usage: run.usage
    }
    return outcome
  })

/**
 * Runs one launch in a prepared sandbox to its end and reports what happened. The time limit
 * counts from the hand-over; when it hits, the sandbox's pid 1 is killed, so every process in it
 * dies, and the run still ends normally (its changes are kept when asked). Closing the prepared
 * sandbox's scope kills whatever still runs.
 */
export const runSandbox = (
  launch: SandboxLaunch,
  host: SandboxHost,
  prepared: PreparedSandbox,
  output?: RunOutputSink
): Effect.Effect<SandboxOutcome, LocalEngineError, Scope.Scope> =>
  Effect.gen(function*() {
    const { session } = prepared
    const stdout = new OutputCapture(launch.truncateAt, output?.stdout)
    const stderr = new OutputCapture(launch.truncateAt, output?.stderr)
    session.stdout = stdout
    session.stderr = stderr
    yield* writeLaunch(launch, host)
    session.send(`run ${launch.runId}`)
    session.child.stdin!.end(Buffer.from(launch.stdin))
    yield* prepared.afterHandOver(launch)
    const timer = yield* startTimer(launch, session)

    const run: RunProgress = {
      errors: [],
      diagnostics: [],
      startedAt: undefined,
      endedAt: undefined,
      exitCode: undefined,
      status: undefined,
      saved: false,
      usage: undefined,
      closed: undefined,
      outputsEnded: 0
    }
    // A run is over once its status (and its saved changes) and all its output are in: the setup
    // process's own exit, a moment later, is left to the clean-up rather than waited for.
    const over = () =>
      launch.mode === "run" && run.errors.length === 0 && run.status !== undefined && (!launch.keep || run.saved) && run.outputsEnded === 2

    while (run.closed === undefined && !over()) {
      const event = yield* Queue.take(session.events)
      if (event._tag === "OutputEnded") run.outputsEnded++
      else if (event._tag !== "Line") run.closed = event._tag === "Closed" ? event : { code: null, signal: null }
      else yield* onLine(event.line, run, launch, prepared, timer.fiber)
    }
    return yield* outcomeOf(run, launch, timer.timedOut(), stdout, stderr)
  })
