/** Validation of `POST /instances` bodies (spec §3.12) into what the runner needs. */
import { ApiError } from "./http.js"
import { decodeStream, encodeStream } from "./streams.js"
import type { FakeStore } from "./FakeStore.js"
import type { FakeImage, InstanceFileJson, InstanceMetadata } from "./types.js"

export interface SpawnFile {
  readonly path: string
  readonly uuid: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

export interface SpawnSpec {
  readonly image: FakeImage
  readonly stdin: Buffer
  readonly files: readonly SpawnFile[]
  readonly metadata: InstanceMetadata
}

const invalid = (message: string): never => {
  throw new ApiError(400, message)
}

/** Reads an optional field; null counts as absent because clients serialise unset fields as null. */
const optional = <T>(body: Record<string, unknown>, key: string, fallback: T, accept: (value: unknown) => value is T): T => {
  const value = body[key]
  if (value === undefined || value === null) return fallback
  return accept(value) ? value : invalid(`invalid ${key}`)
}

const isString = (value: unknown): value is string => typeof value === "string"
const isBoolean = (value: unknown): value is boolean => typeof value === "boolean"
const isPositive = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value > 0
const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString)
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const isEnvMap = (value: unknown): value is Record<string, string | null> =>
  isObject(value) && Object.values(value).every((entry) => entry === null || isString(entry))

/** Accepts "0644", "644", "0o644", "0o100644" and integers; keeps only the permission bits. */
export const parseMode = (value: unknown): number | undefined => {
  if (value === undefined || value === null) return 0o644
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value & 0o7777 : undefined
  if (typeof value !== "string") return undefined
  const match = /^(?:0o)?([0-7]+)$/i.exec(value)
  return match === null ? undefined : parseInt(match[1] as string, 8) & 0o7777
}

const formatMode = (mode: number): string => mode.toString(8).padStart(4, "0")

const parseFiles = (value: Record<string, unknown>): SpawnFile[] =>
  Object.entries(value).map(([path, spec]) => {
    if (!path.startsWith("/")) invalid(`file path must be absolute: ${path}`)
    if (!isObject(spec) || !isString(spec.uuid)) return invalid(`files[${path}].uuid is required`)
    const mode = parseMode(spec.mode) ?? invalid(`files[${path}].mode is not an octal mode`)
    const uid = spec.uid ?? 0
    const gid = spec.gid ?? 0
    if (!isCount(uid) || !isCount(gid)) invalid(`files[${path}] uid and gid must be non-negative integers`)
    return { path, uuid: spec.uuid, mode, uid: uid as number, gid: gid as number }
  })

export const parseSpawnRequest = (body: Record<string, unknown>, store: FakeStore): SpawnSpec => {
  const command = optional(body, "command", "", isString)
  if (command === "") invalid("command is required")
  const imageRef = optional(body, "image", "", isString)
  if (imageRef === "") invalid("image is required")
  const shell = optional(body, "shell", false, isBoolean)
  const args = optional(body, "args", [], isStringArray)
  if (shell && args.length > 0) invalid("args must be empty when shell is true")
  const cwd = optional(body, "cwd", "/root", isString)
  if (!cwd.startsWith("/")) invalid("cwd must be an absolute path")
  const timeout = optional(body, "timeout", 60, (value): value is number => typeof value === "number")
  if (!isPositive(timeout)) invalid("timeout must be positive")
  const stdin = body.stdin == null ? Buffer.alloc(0) : (decodeStream(body.stdin) ?? invalid("stdin must be a Stream"))
  const files = parseFiles(optional(body, "files", {}, isObject))

  const image = store.resolveImage(imageRef)
  if (image === undefined) throw new ApiError(404, "Image not found")

  const metadata: InstanceMetadata = {
    command,
    image: imageRef,
    hostname: optional(body, "hostname", "linuxkit", isString),
    args,
    shell,
    env: optional(body, "env", {}, isEnvMap),
    cwd,
    disposable: optional(body, "disposable", false, isBoolean),
    stdin: encodeStream(stdin, Infinity),
    timeout,
    truncate_output_at: optional(body, "truncate_output_at", 65536, isCount),
    files: Object.fromEntries(
      files.map((file): [string, InstanceFileJson] => [file.path, { uuid: file.uuid, mode: formatMode(file.mode), uid: file.uid, gid: file.gid }])
    ),
    ...newerFields(body),
    result: null
  }
  return { image, stdin, files, metadata }
}

/** The current generation's spawn fields (spec §1.4), echoed only when the request set them. */
const newerFields = (body: Record<string, unknown>): Partial<InstanceMetadata> => {
  const fields: { -readonly [K in keyof InstanceMetadata]?: InstanceMetadata[K] } = {}
  for (const key of ["uid", "gid"] as const) {
    const value = body[key]
    if (value === undefined || value === null) continue
    if (!isCount(value)) invalid(`${key} must be a non-negative integer`)
    fields[key] = value as number
  }
  if (body.preserve_env != null) fields.preserve_env = optional(body, "preserve_env", false, isBoolean)
  const limits = body.resources_limits
  if (limits != null) {
    if (!isObject(limits)) return invalid("invalid resources_limits")
    const max = limits.max_layer_bytes
    if (max != null && !isCount(max)) invalid("resources_limits.max_layer_bytes must be a non-negative integer")
    fields.resources_limits = max == null ? {} : { max_layer_bytes: max as number }
  }
  const networking = body.networking
  if (networking != null) {
    if (!isObject(networking) || !isBoolean(networking.enabled)) return invalid("networking.enabled must be a boolean")
    fields.networking = { enabled: networking.enabled }
  }
  return fields
}
