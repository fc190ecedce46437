import { Schema } from "effect"
import { droppable, tolerant } from "./Lenient.js"
import { OutputStream } from "./OutputStream.js"

const withDefault = <S extends Schema.Schema.Any>(schema: S, value: Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: () => value, nullable: true })

/** A file placed into the sandbox before the command starts. `mode` is a four-digit octal string. */
export const InstanceFileSpec = Schema.Struct({
  uuid: Schema.String,
  mode: Schema.optionalWith(Schema.String, { default: () => "0644" }),
  uid: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  gid: Schema.optionalWith(Schema.Int, { default: () => 0 })
})
export type InstanceFileSpec = typeof InstanceFileSpec.Type

export class ProcessExitState extends Schema.Class<ProcessExitState>("ProcessExitState")({
  continued: withDefault(Schema.Boolean, false),
  core_dump: withDefault(Schema.Boolean, false),
  exit_code: withDefault(Schema.Int, 0),
  pid: withDefault(Schema.Int, 0),
  signal: withDefault(Schema.Int, -1),
  stopped: withDefault(Schema.Boolean, false),
  timed_out: withDefault(Schema.Boolean, false)
}) {}

/** A resource figure; one that drifted (a string, say) reads as unknown (-1) instead of failing the result. */
const figure = () => withDefault(tolerant(Schema.Number, () => -1), -1)

export class ConsumedResources extends Schema.Class<ConsumedResources>("ConsumedResources")({
  block_input: figure(),
  block_output: figure(),
  cost: figure(),
  elapsed_time: figure(),
  involuntary_switches: figure(),
  max_rss: figure(),
  monotonic_time: figure(),
  page_faults: figure(),
  page_faults_io: figure(),
  shared_memory: figure(),
  signals: figure(),
  swaps: figure(),
  system_cpu_time: figure(),
  unshared_memory: figure(),
  user_cpu_time: figure(),
  voluntary_switches: figure(),
  /** Bytes the run wrote to its layer (newer servers). */
  layer_bytes: Schema.optional(Schema.NullOr(Schema.Number))
}) {}

export class InstanceResult extends Schema.Class<InstanceResult>("InstanceResult")({
  resources: Schema.optionalWith(tolerant(ConsumedResources, () => new ConsumedResources({})), {
    default: () => new ConsumedResources({}),
    nullable: true
  }),
  state: Schema.optionalWith(ProcessExitState, { default: () => new ProcessExitState({}), nullable: true }),
  stdout: Schema.optionalWith(OutputStream, { default: () => new OutputStream({}), nullable: true }),
  stderr: Schema.optionalWith(OutputStream, { default: () => new OutputStream({}), nullable: true })
}) {}

/** An environment: a `null` value unsets a variable an earlier run baked into the image (`preserve_env`). */
export const Environment = Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })
export type Environment = typeof Environment.Type

/** `resources_limits` of a spawn (current generation). */
export const ResourceLimits = Schema.Struct({ max_layer_bytes: Schema.optional(Schema.Int) })

/** `networking` of a spawn (current generation): outbound network access; the server's default is on. */
export const Networking = Schema.Struct({ enabled: Schema.Boolean })

/** The current generation's optional spawn fields: sent only when set, so an older server sees the same body as before. */
const newerSpawnFields = {
  /** The process's user and group (server default 0). */
  uid: Schema.optional(Schema.Int),
  gid: Schema.optional(Schema.Int),
  /** Bake `env` into the result image, for later runs on it. */
  preserve_env: Schema.optional(Schema.Boolean),
  resources_limits: Schema.optional(ResourceLimits),
  networking: Schema.optional(Networking)
}

/**
 * The body of `POST /instances`. Every field is sent explicitly (server defaults differ from ours),
 * except `cwd`: absent, the server picks it (the local engine: the image's working directory; ConTree: `/root`),
 * and the current generation's fields, sent only when set.
 */
export const SpawnRequest = Schema.Struct({
  command: Schema.String,
  image: Schema.String,
  hostname: Schema.String,
  args: Schema.Array(Schema.String),
  shell: Schema.Boolean,
  env: Environment,
  cwd: Schema.optional(Schema.String),
  disposable: Schema.Boolean,
  stdin: OutputStream,
  timeout: Schema.Int,
  truncate_output_at: Schema.Int,
  files: Schema.Record({ key: Schema.String, value: InstanceFileSpec }),
  ...newerSpawnFields
})
export type SpawnRequest = typeof SpawnRequest.Type

/** An octal string ("0644", "0o100644") or an integer, as clients send either; kept as four octal digits when an integer. */
const FileMode = Schema.Union(
  Schema.String,
  Schema.transform(Schema.NonNegativeInt, Schema.String, {
    strict: true,
    decode: (mode) => (mode & 0o7777).toString(8).padStart(4, "0"),
    encode: (mode) => parseInt(mode, 8)
  })
)

/** An injected file as echoed: `mode` a string or an integer (normalised to four octal digits), owner ids possibly null. */
export interface EchoedFileSpec {
  readonly uuid: string
  readonly mode?: string | null
  readonly uid?: number | null
  readonly gid?: number | null
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isOwnerId = (u: unknown): u is number | null => u === null || typeof u === "number"

/** One echoed file, or undefined when it has no uuid; a field of another shape is dropped, as `droppable` fields are. */
const echoedFile = (u: unknown): EchoedFileSpec | undefined => {
  if (!isRecord(u) || typeof u["uuid"] !== "string") return undefined
  const mode = u["mode"]
  const normalised = typeof mode === "string" || mode === null
    ? mode
    : Number.isInteger(mode) && (mode as number) >= 0
    ? ((mode as number) & 0o7777).toString(8).padStart(4, "0")
    : undefined
  // Assigned one by one, without spreads: thousands of entries are decoded per read.
  const file: { uuid: string; mode?: string | null; uid?: number | null; gid?: number | null } = { uuid: u["uuid"] }
  if (normalised !== undefined) file.mode = normalised
  if (isOwnerId(u["uid"])) file.uid = u["uid"]
  if (isOwnerId(u["gid"])) file.gid = u["gid"]
  return file
}

/**
 * The echoed `files`, decoded by hand: a run given a synced project echoes thousands of them, and
 * the generic record decoder would cost more than the run itself. Entries without a uuid are left out.
 */
const EchoedFiles = Schema.transform(
  Schema.Object,
  Schema.declare((u): u is Readonly<Record<string, EchoedFileSpec>> => isRecord(u), { identifier: "EchoedFiles" }),
  {
    strict: true,
    decode: (u: object) => {
      const files: Record<string, EchoedFileSpec> = {}
      if (!isRecord(u)) return files
      for (const path of Object.keys(u)) {
        const file = echoedFile(u[path])
        if (file === undefined) continue
        // Defined, not assigned: a path named `__proto__` is an entry like any other.
        if (path === "__proto__") Object.defineProperty(files, path, { value: file, enumerable: true, writable: true, configurable: true })
        else files[path] = file
      }
      return files
    },
    encode: (files) => files
  }
)

/**
 * The spawn request as echoed in an operation's metadata, plus the process result once it ended.
 * Only `command` and `image` must decode: every other echoed field is dropped when its shape
 * drifted, and a result that cannot be read at all is null, so the rest stays readable.
 */
export const InstanceMetadata = Schema.Struct({
  command: Schema.String,
  image: Schema.String,
  hostname: droppable(Schema.NullOr(Schema.String)),
  args: droppable(Schema.NullOr(Schema.Array(Schema.String))),
  shell: droppable(Schema.NullOr(Schema.Boolean)),
  env: droppable(Schema.NullOr(Environment)),
  cwd: droppable(Schema.NullOr(Schema.String)),
  disposable: droppable(Schema.NullOr(Schema.Boolean)),
  timeout: droppable(Schema.NullOr(Schema.Number)),
  truncate_output_at: droppable(Schema.NullOr(Schema.Number)),
  stdin: droppable(Schema.NullOr(OutputStream)),
  files: droppable(Schema.NullOr(EchoedFiles)),
  uid: droppable(Schema.NullOr(Schema.Number)),
  gid: droppable(Schema.NullOr(Schema.Number)),
  preserve_env: droppable(Schema.NullOr(Schema.Boolean)),
  resources_limits: droppable(Schema.NullOr(Schema.Struct({ max_layer_bytes: Schema.optional(Schema.NullOr(Schema.Number)) }))),
  networking: droppable(Schema.NullOr(Schema.Struct({ enabled: Schema.optional(Schema.NullOr(Schema.Boolean)) }))),
  result: Schema.optionalWith(tolerant(Schema.NullOr(InstanceResult), () => null), { default: () => null })
})
export type InstanceMetadata = typeof InstanceMetadata.Type

/** Absent and null both take the server's default, as clients serialise unset fields either way. */
const serverDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value, nullable: true })

/**
 * `POST /instances` as a server accepts it (spec §3.12, current §1.4): only `command` and `image` are
 * required, every other field takes the server default (the current generation's are left absent,
 * each server applies its own), unknown fields (`result`) are ignored.
 * Decodes to the same type as `SpawnRequest`, which clients send in full.
 */
export const SpawnRequestBody = Schema.Struct({
  command: Schema.String,
  image: Schema.String,
  hostname: serverDefault(Schema.String, () => "linuxkit"),
  args: serverDefault(Schema.Array(Schema.String), () => []),
  shell: serverDefault(Schema.Boolean, () => false),
  env: serverDefault(Environment, () => ({})),
  // Absent: the image's working directory, else /root (the engine decides, as it knows the image).
  cwd: Schema.optionalWith(Schema.String, { nullable: true }),
  disposable: serverDefault(Schema.Boolean, () => false),
  stdin: serverDefault(OutputStream, () => new OutputStream({})),
  timeout: serverDefault(Schema.Int, () => 60),
  truncate_output_at: serverDefault(Schema.Int, () => 65536),
  files: serverDefault(
    Schema.Record({
      key: Schema.String,
      value: Schema.Struct({
        uuid: Schema.String,
        mode: serverDefault(FileMode, () => "0644"),
        uid: serverDefault(Schema.Int, () => 0),
        gid: serverDefault(Schema.Int, () => 0)
      })
    }),
    () => ({})
  ),
  uid: Schema.optionalWith(Schema.Int, { nullable: true }),
  gid: Schema.optionalWith(Schema.Int, { nullable: true }),
  preserve_env: Schema.optionalWith(Schema.Boolean, { nullable: true }),
  resources_limits: Schema.optionalWith(ResourceLimits, { nullable: true }),
  networking: Schema.optionalWith(Networking, { nullable: true })
})
