import { Effect } from "effect"
import { posix } from "node:path"
import type { SpawnRequest } from "../../domain/Instance.js"
import { streamBytes } from "../../domain/OutputStream.js"
import { redactSecretEnv } from "../../domain/redact.js"
import type { ImageDefaults } from "../store/ImageRecords.js"
import type { RunUser } from "../images/ImageUser.js"
import { invalidRequest, type LocalEngineError } from "../LocalEngineError.js"
import type { NetworkHelperName } from "./SandboxNetwork.js"

/** A file to place before the command starts, by upload uuid. */
export interface RequestedFile {
  readonly path: string
  readonly uuid: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/** A validated spawn request: what the sandbox runs, and the metadata echoed on the operation. */
export interface RunRequest {
  /** Empty until the image's Entrypoint and Cmd stand in for an empty `command` (withImageDefaults). */
  readonly argv: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly hostname: string
  readonly stdin: Uint8Array
  readonly timeoutMs: number
  readonly truncateAt: number
  readonly disposable: boolean
  readonly files: ReadonlyArray<RequestedFile>
  /** The helper giving the run outbound access; undefined: loopback only. */
  readonly network: NetworkHelperName | undefined
  /** Who the command runs as (the request's uid/gid, else the image's `User`); undefined: the sandbox's root. */
  readonly user: RunUser | undefined
  /** `uid`/`gid` of the request, which win over the image's `User` (the engine resolves them against the image). */
  readonly requestedUser: { readonly uid: number; readonly gid: number | undefined } | undefined
  /** Variables the request sets to null: removed from what the image has baked in. */
  readonly unsetEnv: ReadonlyArray<string>
  /** `preserve_env`: the run's environment becomes the result image's (later runs on it see it). */
  readonly preserveEnv: boolean
  /** `resources_limits.max_layer_bytes`: the most the run's changes may weigh to be saved. */
  readonly maxLayerBytes: number | undefined
  /** The request as the cloud echoes it in the operation's metadata (spec §2.11); `result` comes later. */
  readonly metadata: Readonly<Record<string, unknown>>
}

/** Accepts "0644", "644", "0o644", "0o100644"; keeps the permission bits (spec §2.3). */
export const parseMode = (value: string): number | undefined => {
  const match = /^(?:0o)?([0-7]+)$/i.exec(value)
  return match === null ? undefined : parseInt(match[1]!, 8) & 0o7777
}

const DEFAULT_CWD = "/root"

const octal = (mode: number) => mode.toString(8).padStart(4, "0")
const ENV_NAME = /^[^=\0]+$/

/** A request's files checked, and as the operation echoes them. */
interface ValidatedFiles {
  readonly files: ReadonlyArray<RequestedFile>
  readonly echoed: Readonly<Record<string, { readonly uuid: string; readonly mode: string; readonly uid: number; readonly gid: number }>>
}

/**
 * The same `files` object (contree_run passes one per synced state to the engine in this
 * process, run after run) is checked once: thousands of entries cost more than the run.
 */
const validatedFiles = new WeakMap<object, ValidatedFiles>()

const validateFiles = (requested: SpawnRequest["files"]): Effect.Effect<ValidatedFiles, LocalEngineError> =>
  Effect.suspend(() => {
    const known = validatedFiles.get(requested)
    if (known !== undefined) return Effect.succeed(known)
    const files: Array<RequestedFile> = []
    const echoed: Record<string, { uuid: string; mode: string; uid: number; gid: number }> = {}
    for (const [path, spec] of Object.entries(requested)) {
      if (!path.startsWith("/")) return invalidRequest(`file path must be absolute: ${path}`)
      const mode = parseMode(spec.mode)
      if (mode === undefined) return invalidRequest(`files[${path}].mode is not an octal mode`)
      if (spec.uid < 0 || spec.gid < 0) return invalidRequest(`files[${path}] uid and gid must be non-negative integers`)
      const file = { path: posix.normalize(path), uuid: spec.uuid, mode, uid: spec.uid, gid: spec.gid }
      files.push(file)
      echoed[file.path] = { uuid: file.uuid, mode: octal(file.mode), uid: file.uid, gid: file.gid }
    }
    const validated = { files, echoed }
    validatedFiles.set(requested, validated)
    return Effect.succeed(validated)
  })

/** The checks the cloud makes on `POST /instances` (spec §3.12), refused with 400 there and InvalidRequest here. */
export const validateRunRequest = (
  request: SpawnRequest,
  network: NetworkHelperName | undefined
): Effect.Effect<RunRequest, LocalEngineError> =>
  Effect.gen(function*() {
    if (request.image === "") return yield* invalidRequest("image is required")
    if (request.shell && request.args.length > 0) return yield* invalidRequest("args must be empty when shell is true")
    if (request.cwd !== undefined && !request.cwd.startsWith("/")) return yield* invalidRequest("cwd must be an absolute path")
    if (!(request.timeout > 0)) return yield* invalidRequest("timeout must be positive")
    if (!(request.truncate_output_at >= 0)) return yield* invalidRequest("truncate_output_at must not be negative")
    for (const [field, value] of [["uid", request.uid], ["gid", request.gid], ["resources_limits.max_layer_bytes", request.resources_limits?.max_layer_bytes]] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) return yield* invalidRequest(`${field} must be a non-negative integer`)
    }
    // A null value unsets a variable; with no baked environment here, it is simply left out.
    const env = Object.fromEntries(Object.entries(request.env).filter((entry): entry is [string, string] => entry[1] !== null))
    for (const name of Object.keys(request.env)) {
      if (!ENV_NAME.test(name)) return yield* invalidRequest(`invalid environment variable name: ${JSON.stringify(name)}`)
    }
    // A process's arguments and environment are NUL-terminated strings: a NUL cannot be passed on.
    const strings: Array<readonly [field: string, value: string]> = [
      ["command", request.command],
      ["hostname", request.hostname],
      ...(request.cwd === undefined ? [] : [["cwd", request.cwd] as const]),
      ...request.args.map((arg, i) => [`args[${i}]`, arg] as const),
      ...Object.entries(env).map(([name, value]) => [`env.${name}`, value] as const)
    ]
    const withNul = strings.find(([, value]) => value.includes("\0"))
    if (withNul !== undefined) return yield* invalidRequest(`${withNul[0]} must not contain a NUL character`)
    const { files, echoed } = yield* validateFiles(request.files)
    const stdin = streamBytes(request.stdin)
    return {
      argv: request.command === "" ? [] : request.shell ? ["/bin/sh", "-c", request.command] : [request.command, ...request.args],
      env,
      cwd: posix.normalize(request.cwd ?? DEFAULT_CWD),
      hostname: request.hostname,
      stdin,
      timeoutMs: request.timeout * 1000,
      truncateAt: request.truncate_output_at,
      disposable: request.disposable,
      files,
      network,
      user: undefined,
      requestedUser: request.uid === undefined && request.gid === undefined ? undefined : { uid: request.uid ?? 0, gid: request.gid },
      unsetEnv: Object.entries(request.env).flatMap(([name, value]) => (value === null ? [name] : [])),
      preserveEnv: request.preserve_env ?? false,
      maxLayerBytes: request.resources_limits?.max_layer_bytes,
      metadata: {
        command: request.command,
        image: request.image,
        hostname: request.hostname,
        args: request.args,
        shell: request.shell,
        // Stored in engine.db and echoed from it for as long as the operation is kept: the values of
        // secret-looking names (the vendor's rule, see looksSecret) are redacted there. The command
        // gets the real values (`env` above); `preserve_env` bakes them into the result image's config,
        // as asked.
        env: redactSecretEnv(env),
        cwd: request.cwd ?? DEFAULT_CWD,
        disposable: request.disposable,
        stdin: { value: request.stdin.value, encoding: request.stdin.encoding, truncated: false },
        timeout: request.timeout,
        truncate_output_at: request.truncate_output_at,
        files: echoed,
        // The current generation's fields, echoed only when given (older clients never see them).
        ...(request.uid === undefined ? {} : { uid: request.uid }),
        ...(request.gid === undefined ? {} : { gid: request.gid }),
        ...(request.preserve_env === undefined ? {} : { preserve_env: request.preserve_env }),
        ...(request.resources_limits === undefined ? {} : { resources_limits: request.resources_limits }),
        result: null
      }
    }
  })

const NO_COMMAND = "command is required: give the program to run (the image has no Entrypoint or Cmd to run instead)"

/**
 * An image's config under a run (an imported image's, or the one it was committed from): its Env
 * beneath the request's, its WorkingDir when the request names no cwd and, for an empty `command`,
 * its Entrypoint followed by its Cmd (or by the request's `args`, as `docker run IMAGE ARGS`),
 * exec'd as they are: an OCI config's lists are argv, never shell text. Its `User` is resolved
 * against the image's files by the engine (ImageUser).
 */
export const withImageDefaults = (
  run: RunRequest,
  request: SpawnRequest,
  defaults: ImageDefaults | null
): Effect.Effect<RunRequest, LocalEngineError> =>
  Effect.gen(function*() {
    const argv = run.argv.length > 0
      ? run.argv
      : [...defaults?.entrypoint ?? [], ...request.args.length > 0 ? request.args : defaults?.cmd ?? []]
    if (argv.length === 0) return yield* invalidRequest(NO_COMMAND)
    if (defaults === null) return { ...run, argv }
    const imageEnv = Object.fromEntries(defaults.env.flatMap((entry) => {
      const equals = entry.indexOf("=")
      const name = entry.slice(0, equals)
      return equals > 0 && !run.unsetEnv.includes(name) ? [[name, entry.slice(equals + 1)]] : []
    }))
    // The sandbox's parameters are NUL-separated: a config's NUL would shift them.
    if ([...argv, ...defaults.env].some((value) => value.includes("\0"))) {
      return yield* invalidRequest("the image's Entrypoint, Cmd or Env holds a NUL character, which no process can be given")
    }
    const cwd = request.cwd === undefined && defaults.workingDir !== null ? posix.normalize(posix.resolve("/", defaults.workingDir)) : run.cwd
    return { ...run, argv, env: { ...imageEnv, ...run.env }, cwd, metadata: { ...run.metadata, cwd } }
  })
