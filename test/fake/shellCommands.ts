/**
 * The commands the fake shell knows. Each works on the run's in-memory filesystem and writes
 * to buffered stdout/stderr; none starts a real process.
 */
import { type FakeFilesystem, FsError, nodeSize, normalizePath } from "./FakeFilesystem.js"
import { formatLongListing, longListingLine } from "./listing.js"

/** Buffered output of one stream. */
export class Output {
  private readonly chunks: Buffer[] = []

  /** `onWrite` sees every write as it happens (the event stream's output). */
  constructor(private readonly onWrite?: (data: Buffer) => void) {}

  write(data: string | Buffer): void {
    const bytes = typeof data === "string" ? Buffer.from(data) : data
    this.chunks.push(bytes)
    this.onWrite?.(bytes)
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

/** Thrown by `exit`; ends the whole script with `code`. */
export class ExitRequest {
  constructor(readonly code: number) {}
}

/** Mutable state shared by every command of one run. */
export interface ShellState {
  readonly fs: FakeFilesystem
  readonly env: Map<string, string>
  readonly hostname: string
  cwd: string
  lastStatus: number
  /** Real-time sleep that honours the run's timeout and cancellation. */
  sleep(seconds: number): Promise<void>
}

export interface CommandIo {
  readonly stdin: Buffer
  readonly stdout: Output
  readonly stderr: Output
}

export type Command = (args: string[], io: CommandIo, state: ShellState) => number | Promise<number>

const abs = (state: ShellState, path: string): string => normalizePath(path, state.cwd)

/** Splits leading `-abc` flag words from operands; `--` ends the flags. */
const splitFlags = (args: readonly string[]): { flags: Set<string>; operands: string[] } => {
  const flags = new Set<string>()
  let index = 0
  for (; index < args.length; index++) {
    const arg = args[index] as string
    if (arg === "--") {
      index++
      break
    }
    if (!arg.startsWith("-") || arg === "-") break
    for (const flag of arg.slice(1)) flags.add(flag)
  }
  return { flags, operands: args.slice(index) }
}

/** Runs `action` per path; a filesystem error is reported as `<name>: <path>: <reason>` and the rest continue. */
const eachPath = (name: string, paths: readonly string[], io: CommandIo, action: (path: string) => void): number => {
  let status = 0
  for (const path of paths) {
    try {
      action(path)
    } catch (error) {
      if (!(error instanceof FsError)) throw error
      io.stderr.write(`${name}: ${path}: ${error.reason}\n`)
      status = 1
    }
  }
  return status
}

const echo: Command = (args, io) => {
  const newline = args[0] !== "-n"
  io.stdout.write((newline ? args : args.slice(1)).join(" ") + (newline ? "\n" : ""))
  return 0
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\" }

/** Applies `format` once; returns the bytes and how many arguments it consumed. */
const formatOnce = (format: string, values: readonly string[]): { bytes: Buffer; consumed: number } => {
  const chunks: Buffer[] = []
  let text = ""
  let consumed = 0
  const flushText = (): void => {
    chunks.push(Buffer.from(text))
    text = ""
  }
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string
    const next = format[i + 1] ?? ""
    if (c === "\\" && next === "x" && /^[0-9a-fA-F]/.test(format[i + 2] ?? "")) {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(format.slice(i + 2))?.[0] ?? ""
      flushText()
      chunks.push(Buffer.from([parseInt(hex, 16)])) // a raw byte, not a UTF-8 code point
      i += 1 + hex.length
    } else if (c === "\\" && /[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(format.slice(i + 1))?.[0] ?? ""
      flushText()
      chunks.push(Buffer.from([parseInt(octal, 8) & 0xff]))
      i += octal.length
    } else if (c === "\\" && next in ESCAPES) {
      text += ESCAPES[next]
      i++
    } else if (c === "%" && next === "%") {
      text += "%"
      i++
    } else if (c === "%" && (next === "s" || next === "d" || next === "i")) {
      const value = values[consumed++] ?? ""
      text += next === "s" ? value : String(Number.parseInt(value, 10) || 0)
      i++
    } else {
      text += c
    }
  }
  flushText()
  return { bytes: Buffer.concat(chunks), consumed }
}

/** Like coreutils: the format is reused while arguments remain. */
const printf: Command = (args, io) => {
  const [format, ...values] = args
  if (format === undefined) {
    io.stderr.write("printf: missing operand\n")
    return 1
  }
  let remaining = values
  for (;;) {
    const { bytes, consumed } = formatOnce(format, remaining)
    io.stdout.write(bytes)
    remaining = remaining.slice(consumed)
    if (consumed === 0 || remaining.length === 0) return 0
  }
}

const cat: Command = (args, io, state) => {
  const paths = args.length === 0 ? ["-"] : args
  return eachPath("cat", paths, io, (path) => io.stdout.write(path === "-" ? io.stdin : state.fs.readFile(abs(state, path))))
}

const ls: Command = (args, io, state) => {
  const { flags, operands } = splitFlags(args)
  const showHidden = flags.has("a") || flags.has("A")
  const paths = operands.length === 0 ? ["."] : operands
  const blocks: string[] = []
  let status = 0
  for (const path of paths) {
    const absolute = abs(state, path)
    const node = state.fs.get(absolute)
    if (node === undefined) {
      io.stderr.write(`ls: cannot access '${path}': No such file or directory\n`)
      status = 2
      continue
    }
    if (node.type !== "dir") {
      blocks.push(flags.has("l") ? `${longListingLine({ name: path, node, nlink: 1 })}\n` : `${path}\n`)
      continue
    }
    const entries = state.fs
      .list(absolute)
      .filter((entry) => showHidden || !entry.name.startsWith("."))
      .map((entry) => ({ name: entry.name, node: entry.node, nlink: state.fs.nlink(entry.path) }))
    const body = flags.has("l") ? formatLongListing(entries) : entries.map((entry) => `${entry.name}\n`).join("")
    blocks.push(paths.length > 1 ? `${path}:\n${body}` : body)
  }
  io.stdout.write(blocks.join(paths.length > 1 ? "\n" : ""))
  return status
}

const printEnv = (io: CommandIo, state: ShellState): number => {
  for (const [name, value] of state.env) io.stdout.write(`${name}=${value}\n`)
  return 0
}

const printenv: Command = (args, io, state) => {
  if (args.length === 0) return printEnv(io, state)
  let status = 0
  for (const name of args) {
    const value = state.env.get(name)
    if (value === undefined) status = 1
    else io.stdout.write(`${value}\n`)
  }
  return status
}

const DURATION_UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }

const sleep: Command = async (args, io, state) => {
  let seconds = 0
  for (const arg of args) {
    const match = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg)
    if (match === null) {
      io.stderr.write(`sleep: invalid time interval '${arg}'\n`)
      return 1
    }
    seconds += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number)
  }
  await state.sleep(seconds)
  return 0
}

const exit: Command = (args, _io, state) => {
  throw new ExitRequest(args[0] === undefined ? state.lastStatus : (Number.parseInt(args[0], 10) || 0) & 0xff)
}

const rm: Command = (args, io, state) => {
  const { flags, operands } = splitFlags(args)
  const force = flags.has("f")
  const recursive = flags.has("r") || flags.has("R")
  let status = 0
  for (const path of operands) {
    try {
      state.fs.remove(abs(state, path), recursive)
    } catch (error) {
      if (!(error instanceof FsError)) throw error
      if (force && error.code === "ENOENT") continue
      io.stderr.write(`rm: cannot remove '${path}': ${error.reason}\n`)
      status = 1
    }
  }
  return status
}

const mkdir: Command = (args, io, state) => {
  const { flags, operands } = splitFlags(args)
  return eachPath("mkdir", operands, io, (path) => state.fs.mkdir(abs(state, path), flags.has("p")))
}

const touch: Command = (args, io, state) => eachPath("touch", args, io, (path) => state.fs.touch(abs(state, path)))

/** Shared by cp and mv: several sources need a directory destination. */
const transfer =
  (name: string, action: (state: ShellState, recursive: boolean, from: string, to: string) => void): Command =>
  (args, io, state) => {
    const { flags, operands } = splitFlags(args)
    const destination = operands.pop()
    if (destination === undefined || operands.length === 0) {
      io.stderr.write(`${name}: missing file operand\n`)
      return 1
    }
    if (operands.length > 1 && state.fs.get(abs(state, destination))?.type !== "dir") {
      io.stderr.write(`${name}: target '${destination}' is not a directory\n`)
      return 1
    }
    const recursive = flags.has("r") || flags.has("R") || flags.has("a")
    return eachPath(name, operands, io, (path) => action(state, recursive, abs(state, path), abs(state, destination)))
  }

const cp = transfer("cp", (state, recursive, from, to) => state.fs.copy(from, to, recursive))
const mv = transfer("mv", (state, _recursive, from, to) => state.fs.move(from, to))

const PERMISSION_BITS: Record<string, number> = { r: 4, w: 2, x: 1 }
const WHO_SHIFTS: Record<string, number[]> = { u: [6], g: [3], o: [0], a: [6, 3, 0] }

/** Octal (`755`) or symbolic (`u+x,go-w`) mode applied to `current`; undefined when malformed. */
const applyMode = (spec: string, current: number): number | undefined => {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8)
  let mode = current
  for (const clause of spec.split(",")) {
    const match = /^([ugoa]*)([-+=])([rwx]*)$/.exec(clause)
    if (match === null) return undefined
    const shifts = [...(match[1] || "a")].flatMap((who) => WHO_SHIFTS[who] as number[])
    const perms = [...(match[3] as string)].reduce((sum, perm) => sum | (PERMISSION_BITS[perm] as number), 0)
    const mask = shifts.reduce((sum, shift) => sum | (perms << shift), 0)
    const whoMask = shifts.reduce((sum, shift) => sum | (7 << shift), 0)
    if (match[2] === "+") mode |= mask
    else if (match[2] === "-") mode &= ~mask
    else mode = (mode & ~whoMask) | mask
  }
  return mode
}

const chmod: Command = (args, io, state) => {
  const [spec, ...paths] = args
  if (spec === undefined || paths.length === 0) {
    io.stderr.write("chmod: missing operand\n")
    return 1
  }
  return eachPath("chmod", paths, io, (path) => {
    const absolute = abs(state, path)
    const mode = applyMode(spec, state.fs.get(absolute)?.mode ?? 0)
    if (mode === undefined) throw new FsError("EINVAL", path)
    state.fs.chmod(absolute, mode)
  })
}

const seq: Command = (args, io) => {
  const numbers = args.map(Number)
  if (numbers.length < 1 || numbers.length > 3 || numbers.some((n) => !Number.isFinite(n))) {
    io.stderr.write("seq: invalid arguments\n")
    return 1
  }
  const [first, step, last] =
    numbers.length === 1 ? [1, 1, numbers[0] as number] : numbers.length === 2 ? [numbers[0] as number, 1, numbers[1] as number] : (numbers as [number, number, number])
  if (step === 0) {
    io.stderr.write("seq: invalid zero increment\n")
    return 1
  }
  const lines: string[] = []
  for (let n = first; step > 0 ? n <= last : n >= last; n += step) lines.push(`${n}\n`)
  io.stdout.write(lines.join(""))
  return 0
}

/** `head -c N` (bytes) or `head -n N` (lines, default 10), from files or stdin. */
const head: Command = (args, io, state) => {
  let byBytes = false
  let count = 10
  const paths: string[] = []
  for (let i = 0; i < args.length; i++) {
    const match = /^-([cn])(\d*)$/.exec(args[i] as string)
    if (match === null) {
      paths.push(args[i] as string)
      continue
    }
    byBytes = match[1] === "c"
    count = Number(match[2] || args[++i])
  }
  if (!Number.isInteger(count) || count < 0) {
    io.stderr.write("head: invalid number\n")
    return 1
  }
  const take = (data: Buffer): Buffer => {
    if (byBytes) return data.subarray(0, count)
    let end = 0
    for (let line = 0; line < count && end < data.length; line++) {
      const newline = data.indexOf(0x0a, end)
      end = newline === -1 ? data.length : newline + 1
    }
    return data.subarray(0, end)
  }
  return eachPath("head", paths.length === 0 ? ["-"] : paths, io, (path) =>
    io.stdout.write(take(path === "-" ? io.stdin : state.fs.readFile(abs(state, path))))
  )
}

const FILE_TYPE_NAMES = { file: "regular file", dir: "directory", symlink: "symbolic link" } as const

/** `stat -c FORMAT` with %a %s %n %u %g %U %G %F; like stat(1) it does not follow a final symlink. */
const stat: Command = (args, io, state) => {
  const [flag, format, ...paths] = args
  if (flag !== "-c" || format === undefined || paths.length === 0) {
    io.stderr.write("stat: usage: stat -c FORMAT FILE...\n")
    return 1
  }
  let status = 0
  for (const path of paths) {
    const node = state.fs.get(abs(state, path), false)
    if (node === undefined) {
      io.stderr.write(`stat: cannot stat '${path}': No such file or directory\n`)
      status = 1
      continue
    }
    const fields: Record<string, string> = {
      a: node.mode.toString(8),
      s: String(nodeSize(node)),
      n: path,
      u: String(node.uid),
      g: String(node.gid),
      U: node.uid === 0 ? "root" : String(node.uid),
      G: node.gid === 0 ? "root" : String(node.gid),
      F: FILE_TYPE_NAMES[node.type],
      "%": "%"
    }
    io.stdout.write(`${format.replace(/%(.)/g, (whole, key: string) => fields[key] ?? whole)}\n`)
  }
  return status
}

class TestSyntaxError extends Error {}

const evaluateTest = (args: readonly string[], state: ShellState): boolean => {
  if (args[0] === "!") return !evaluateTest(args.slice(1), state)
  if (args.length === 0) return false
  if (args.length === 1) return args[0] !== ""
  if (args.length === 2) {
    const [op, operand] = args as [string, string]
    const node = () => state.fs.get(abs(state, operand))
    switch (op) {
      case "-e": return node() !== undefined
      case "-f": return node()?.type === "file"
      case "-d": return node()?.type === "dir"
      case "-L":
      case "-h": return state.fs.get(abs(state, operand), false)?.type === "symlink"
      case "-s": { const found = node(); return found !== undefined && nodeSize(found) > 0 }
      case "-x": return ((node()?.mode ?? 0) & 0o111) !== 0
      case "-r":
      case "-w": return node() !== undefined
      case "-n": return operand !== ""
      case "-z": return operand === ""
      default: throw new TestSyntaxError(`${op}: unary operator expected`)
    }
  }
  if (args.length === 3) {
    const [left, op, right] = args as [string, string, string]
    const [a, b] = [Number(left), Number(right)]
    switch (op) {
      case "=":
      case "==": return left === right
      case "!=": return left !== right
      case "-eq": return a === b
      case "-ne": return a !== b
      case "-lt": return a < b
      case "-le": return a <= b
      case "-gt": return a > b
      case "-ge": return a >= b
      default: throw new TestSyntaxError(`${op}: binary operator expected`)
    }
  }
  throw new TestSyntaxError("too many arguments")
}

const runTest = (name: string, args: readonly string[], io: CommandIo, state: ShellState): number => {
  try {
    return evaluateTest(args, state) ? 0 : 1
  } catch (error) {
    if (!(error instanceof TestSyntaxError)) throw error
    io.stderr.write(`${name}: ${error.message}\n`)
    return 2
  }
}

const bracket: Command = (args, io, state) => {
  if (args[args.length - 1] !== "]") {
    io.stderr.write("[: missing ]\n")
    return 2
  }
  return runTest("[", args.slice(0, -1), io, state)
}

const cd: Command = (args, io, state) => {
  const target = args[0] ?? state.env.get("HOME") ?? "/"
  const absolute = abs(state, target)
  if (state.fs.get(absolute)?.type !== "dir") {
    io.stderr.write(`sh: cd: can't cd to ${target}: No such file or directory\n`)
    return 2
  }
  state.cwd = absolute
  state.env.set("PWD", absolute)
  return 0
}

const exportCommand: Command = (args, _io, state) => {
  for (const arg of args) {
    const index = arg.indexOf("=")
    if (index > 0) state.env.set(arg.slice(0, index), arg.slice(index + 1))
  }
  return 0
}

export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["echo", echo],
  ["printf", printf],
  ["cat", cat],
  ["ls", ls],
  ["pwd", (_args, io, state) => (io.stdout.write(`${state.cwd}\n`), 0)],
  ["env", (_args, io, state) => printEnv(io, state)],
  ["printenv", printenv],
  ["sleep", sleep],
  ["exit", exit],
  ["true", () => 0],
  ["false", () => 1],
  ["rm", rm],
  ["mkdir", mkdir],
  ["touch", touch],
  ["cp", cp],
  ["mv", mv],
  ["chmod", chmod],
  ["seq", seq],
  ["head", head],
  ["stat", stat],
  ["whoami", (_args, io) => (io.stdout.write("root\n"), 0)],
  ["hostname", (_args, io, state) => (io.stdout.write(`${state.hostname}\n`), 0)],
  ["test", (args, io, state) => runTest("test", args, io, state)],
  ["[", bracket],
  ["cd", cd],
  ["export", exportCommand]
])
