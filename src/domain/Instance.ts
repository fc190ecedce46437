import { Schema } from "effect"
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

export class ConsumedResources extends Schema.Class<ConsumedResources>("ConsumedResources")({
  block_input: withDefault(Schema.Number, -1),
  block_output: withDefault(Schema.Number, -1),
  cost: withDefault(Schema.Number, -1),
  elapsed_time: withDefault(Schema.Number, -1),
  involuntary_switches: withDefault(Schema.Number, -1),
  max_rss: withDefault(Schema.Number, -1),
  monotonic_time: withDefault(Schema.Number, -1),
  page_faults: withDefault(Schema.Number, -1),
  page_faults_io: withDefault(Schema.Number, -1),
  shared_memory: withDefault(Schema.Number, -1),
  signals: withDefault(Schema.Number, -1),
  swaps: withDefault(Schema.Number, -1),
  system_cpu_time: withDefault(Schema.Number, -1),
  unshared_memory: withDefault(Schema.Number, -1),
  user_cpu_time: withDefault(Schema.Number, -1),
  voluntary_switches: withDefault(Schema.Number, -1)
}) {}

export class InstanceResult extends Schema.Class<InstanceResult>("InstanceResult")({
  resources: Schema.optionalWith(ConsumedResources, { default: () => new ConsumedResources({}), nullable: true }),
  state: Schema.optionalWith(ProcessExitState, { default: () => new ProcessExitState({}), nullable: true }),
  stdout: Schema.optionalWith(OutputStream, { default: () => new OutputStream({}), nullable: true }),
  stderr: Schema.optionalWith(OutputStream, { default: () => new OutputStream({}), nullable: true })
}) {}

/**
 * The body of `POST /instances`. Every field is sent explicitly (server defaults differ from ours),
 * except `cwd`: absent, the server picks it (the local engine: the image's working directory; ConTree: `/root`).
 */
export const SpawnRequest = Schema.Struct({
  command: Schema.String,
  image: Schema.String,
  hostname: Schema.String,
  args: Schema.Array(Schema.String),
  shell: Schema.Boolean,
  env: Schema.Record({ key: Schema.String, value: Schema.String }),
  cwd: Schema.optional(Schema.String),
  disposable: Schema.Boolean,
  stdin: OutputStream,
  timeout: Schema.Int,
  truncate_output_at: Schema.Int,
  files: Schema.Record({ key: Schema.String, value: InstanceFileSpec })
})
export type SpawnRequest = typeof SpawnRequest.Type

/** The spawn request as echoed in an operation's metadata, plus the process result once it ended. */
export const InstanceMetadata = Schema.Struct({
  command: Schema.String,
  image: Schema.String,
  hostname: Schema.optional(Schema.NullOr(Schema.String)),
  args: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  shell: Schema.optional(Schema.NullOr(Schema.Boolean)),
  env: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String }))),
  cwd: Schema.optional(Schema.NullOr(Schema.String)),
  disposable: Schema.optional(Schema.NullOr(Schema.Boolean)),
  timeout: Schema.optional(Schema.NullOr(Schema.Number)),
  truncate_output_at: Schema.optional(Schema.NullOr(Schema.Number)),
  stdin: Schema.optional(Schema.NullOr(OutputStream)),
  files: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: InstanceFileSpec }))),
  result: Schema.optionalWith(Schema.NullOr(InstanceResult), { default: () => null })
})
export type InstanceMetadata = typeof InstanceMetadata.Type

/** Absent and null both take the server's default, as clients serialise unset fields either way. */
const serverDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value, nullable: true })

/** An octal string ("0644", "0o100644") or an integer, as clients send either; kept as four octal digits when an integer. */
const FileMode = Schema.Union(
  Schema.String,
  Schema.transform(Schema.NonNegativeInt, Schema.String, {
    strict: true,
    decode: (mode) => (mode & 0o7777).toString(8).padStart(4, "0"),
    encode: (mode) => parseInt(mode, 8)
  })
)

/**
 * `POST /instances` as a server accepts it (spec §3.12): only `command` and `image` are required,
 * every other field takes the server default, unknown fields (`result`, `preserve_env`) are ignored.
 * Decodes to the same type as `SpawnRequest`, which clients send in full.
 */
export const SpawnRequestBody = Schema.Struct({
  command: Schema.String,
  image: Schema.String,
  hostname: serverDefault(Schema.String, () => "linuxkit"),
  args: serverDefault(Schema.Array(Schema.String), () => []),
  shell: serverDefault(Schema.Boolean, () => false),
  env: serverDefault(Schema.Record({ key: Schema.String, value: Schema.String }), () => ({})),
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
  )
})
