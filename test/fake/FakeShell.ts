/**
 * Deterministic stand-in for `sh -c` / exec inside a sandbox: interprets the parsed script
 * against an in-memory filesystem. Only `sleep` takes real time; it is where timeouts and
 * cancellation take effect.
 */
import { setTimeout as delay } from "node:timers/promises"
import { type FakeFilesystem, FsError, basename, normalizePath } from "./FakeFilesystem.js"
import { COMMANDS, type CommandIo, ExitRequest, Output, type ShellState } from "./shellCommands.js"
import { type Pipeline, type Redirect, type Script, type SimpleCommand, ShellSyntaxError, type Word, parseScript } from "./ShellSyntax.js"

export interface ShellRequest {
  readonly command: string
  readonly args: readonly string[]
  /** true: `command` is a script for `sh -c`; false: `command` is exec'd with `args`. */
  readonly shell: boolean
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly hostname: string
  readonly stdin: Buffer
  readonly timeoutMs: number
  /** Aborting rejects the run with the signal's reason. */
  readonly signal: AbortSignal
  /** Sees the script's output as it is written. */
  readonly onOutput?: (stream: "stdout" | "stderr", data: Buffer) => void
}

export interface ShellOutcome {
  readonly exitCode: number
  readonly timedOut: boolean
  readonly stdout: Buffer
  readonly stderr: Buffer
}

class TimeoutReached {}

const VARIABLE = /\$(\?|[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})/g
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/
const SHELLS = new Set(["sh", "bash", "ash", "dash"])
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

class ShellRun {
  constructor(
    private readonly state: ShellState,
    private readonly signal: AbortSignal
  ) {}

  /** Parses and runs a script; a syntax error is reported like sh does, with status 2. */
  async runSource(source: string, io: CommandIo): Promise<number> {
    let script: Script
    try {
      script = parseScript(source)
    } catch (error) {
      if (!(error instanceof ShellSyntaxError)) throw error
      io.stderr.write(`sh: syntax error: ${error.message}\n`)
      return 2
    }
    for (const list of script) {
      let status = await this.runPipeline(list.first, io)
      for (const { op, pipeline } of list.rest) {
        if ((op === "&&") === (status === 0)) status = await this.runPipeline(pipeline, io)
      }
    }
    return this.state.lastStatus
  }

  /** Without a shell: `argv[0]` is the program. `sh -c SCRIPT` and `sh FILE` start a nested script. */
  async runArgv(argv: readonly string[], io: CommandIo): Promise<number> {
    this.signal.throwIfAborted()
    const [program = "", ...args] = argv
    const name = basename(program)
    if (SHELLS.has(name) && args.length > 0) return this.runNestedShell(args, io)
    const command = COMMANDS.get(name)
    if (command === undefined) {
      io.stderr.write(`sh: ${program}: not found\n`)
      return 127
    }
    try {
      return await command(args, io, this.state)
    } catch (error) {
      if (!(error instanceof FsError)) throw error
      io.stderr.write(`${name}: ${error.message}\n`)
      return 1
    }
  }

  /** A child shell: its variables, `cd` and `exit` do not leak into this one. */
  private async runNestedShell(args: readonly string[], io: CommandIo): Promise<number> {
    const child = new ShellRun({ ...this.state, env: new Map(this.state.env) }, this.signal)
    try {
      if (args[0] === "-c") return await child.runSource(args[1] ?? "", io)
      return await child.runSource(this.state.fs.readFile(this.absolute(args[0] as string)).toString(), io)
    } catch (error) {
      if (error instanceof ExitRequest) return error.code
      if (!(error instanceof FsError)) throw error
      io.stderr.write(`sh: can't open '${args[0]}': ${error.reason}\n`)
      return 2
    }
  }

  /** Stages run one after another; each stage's whole stdout becomes the next stage's stdin. */
  private async runPipeline(pipeline: Pipeline, io: CommandIo): Promise<number> {
    let stdin = io.stdin
    let status = 0
    for (const [index, command] of pipeline.entries()) {
      const stdout = index === pipeline.length - 1 ? io.stdout : new Output()
      status = await this.runSimple(command, { stdin, stdout, stderr: io.stderr })
      stdin = stdout.bytes()
    }
    this.state.lastStatus = status
    return status
  }

  private async runSimple(command: SimpleCommand, io: CommandIo): Promise<number> {
    const assignments = new Map<string, string>()
    let index = 0
    for (; index < command.words.length; index++) {
      const word = command.words[index] as Word
      const match = word[0]?.expand ? ASSIGNMENT.exec(word[0].text) : null
      if (match === null) break
      assignments.set(match[1] as string, this.expand(word).slice((match[1] as string).length + 1))
    }
    const argv = command.words.slice(index).map((word) => this.expand(word))

    const redirected = this.openRedirects(command.redirects, io)
    if (typeof redirected === "number") return redirected
    try {
      if (argv.length === 0) {
        for (const [name, value] of assignments) this.state.env.set(name, value)
        return 0
      }
      if (assignments.size === 0) return await this.runArgv(argv, redirected.io)
      // `NAME=value cmd` sets the variable for that command only.
      const env = new Map([...this.state.env, ...assignments])
      const scoped = new ShellRun({ ...this.state, env }, this.signal)
      return await scoped.runArgv(argv, redirected.io)
    } finally {
      redirected.flush()
    }
  }

  /**
   * Applies redirections left to right. Files are created/truncated up front, as `open` would,
   * and receive the buffered output afterwards. Returns an exit status when one cannot be opened.
   */
  private openRedirects(redirects: readonly Redirect[], io: CommandIo): { io: CommandIo; flush: () => void } | number {
    const fds = new Map<number, Output>([
      [1, io.stdout],
      [2, io.stderr]
    ])
    let stdin = io.stdin
    const files: Array<{ path: string; output: Output }> = []
    for (const redirect of redirects) {
      const target = this.expand(redirect.target)
      if (redirect.kind === "dup") {
        const source = fds.get(Number(target))
        if (source === undefined) {
          io.stderr.write(`sh: ${target}: bad file descriptor\n`)
          return 1
        }
        fds.set(redirect.fd, source)
        continue
      }
      try {
        if (redirect.kind === "read") {
          stdin = this.state.fs.readFile(this.absolute(target))
          continue
        }
        const output = new Output()
        fds.set(redirect.fd, output)
        if (target === "/dev/null") continue
        const path = this.absolute(target)
        this.state.fs.writeFile(path, Buffer.alloc(0), { append: redirect.kind === "append" })
        files.push({ path, output })
      } catch (error) {
        if (!(error instanceof FsError)) throw error
        io.stderr.write(`sh: can't ${redirect.kind === "read" ? "open" : "create"} ${target}: ${error.reason}\n`)
        return 1
      }
    }
    const flush = (): void => {
      for (const { path, output } of files) {
        try {
          this.state.fs.writeFile(path, output.bytes(), { append: true })
        } catch (error) {
          if (!(error instanceof FsError)) throw error
          io.stderr.write(`sh: can't write ${path}: ${error.reason}\n`)
        }
      }
    }
    return { io: { stdin, stdout: fds.get(1) as Output, stderr: fds.get(2) as Output }, flush }
  }

  /** `$NAME`, `${NAME}` and `$?`; no word splitting or globbing. */
  private expand(word: Word): string {
    return word
      .map((part) =>
        part.expand
          ? part.text.replace(VARIABLE, (_whole, name: string) =>
              name === "?" ? String(this.state.lastStatus) : (this.state.env.get(name.replace(/[{}]/g, "")) ?? "")
            )
          : part.text
      )
      .join("")
  }

  private absolute(path: string): string {
    return normalizePath(path, this.state.cwd)
  }
}

export const runShell = async (fs: FakeFilesystem, request: ShellRequest): Promise<ShellOutcome> => {
  const deadline = Date.now() + request.timeoutMs
  const { signal } = request
  const state: ShellState = {
    fs,
    env: new Map(
      Object.entries({ PATH: DEFAULT_PATH, HOME: "/root", HOSTNAME: request.hostname, PWD: request.cwd, ...request.env })
    ),
    hostname: request.hostname,
    cwd: request.cwd,
    lastStatus: 0,
    sleep: async (seconds) => {
      const wanted = Date.now() + seconds * 1000
      await delay(Math.max(0, Math.min(wanted, deadline) - Date.now()), undefined, { signal })
      if (wanted > deadline) throw new TimeoutReached()
    }
  }
  const stdout = new Output((data) => request.onOutput?.("stdout", data))
  const stderr = new Output((data) => request.onOutput?.("stderr", data))
  const io: CommandIo = { stdin: request.stdin, stdout, stderr }
  const run = new ShellRun(state, signal)
  const finish = (exitCode: number, timedOut = false): ShellOutcome => ({
    exitCode,
    timedOut,
    stdout: stdout.bytes(),
    stderr: stderr.bytes()
  })
  try {
    return finish(await (request.shell ? run.runSource(request.command, io) : run.runArgv([request.command, ...request.args], io)))
  } catch (error) {
    if (error instanceof ExitRequest) return finish(error.code)
    if (error instanceof TimeoutReached) return finish(-1, true)
    throw error
  }
}
