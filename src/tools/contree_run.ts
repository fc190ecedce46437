import { Clock, Duration, Effect, Schema } from "effect"
import type { InstanceFileSpec } from "../domain/Instance.js"
import { encodeStream } from "../domain/OutputStream.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { FileSync, type SyncedFile } from "../services/FileSync.js"
import { OperationWaiter } from "../services/OperationWaiter.js"
import { RetryPolicy } from "../services/RetryPolicy.js"
import { fileSyncToolError } from "./fileSyncToolError.js"
import { OperationView, pendingView, toOperationView } from "./OperationView.js"
import { AbsolutePath, ImageRefParam, noNul, optionalParam, withDefault } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"
import { invalidInput } from "./ToolError.js"
import { outputFeed, ToolContext } from "./ToolContext.js"

const Input = Schema.Struct({
  command: noNul(Schema.NonEmptyString).annotations({
    description: "Shell command (shell=true) or the program to execute (shell=false)"
  }),
  image: ImageRefParam,
  shell: withDefault(Schema.Boolean, true, "Run the command through /bin/sh -c"),
  env: optionalParam(
    Schema.Record({ key: Schema.String, value: Schema.NullOr(noNul(Schema.String)) }).pipe(
      Schema.filter((env) => Object.keys(env).every((key) => !key.includes("\0")) || "names must not contain NUL bytes", { jsonSchema: {} })
    ),
    "Environment variables for the command; null unsets one the image has baked in"
  ),
  cwd: optionalParam(AbsolutePath, "Absolute working directory inside the sandbox. Default: the image's working directory (an imported image's WorkingDir), else /root"),
  timeout: withDefault(Schema.Int.pipe(Schema.between(1, 86_400)), 30, "Seconds before the command is killed"),
  disposable: withDefault(
    Schema.Boolean,
    true,
    "true: discard filesystem changes. false: save the resulting filesystem as a new image (result_image)"
  ),
  stdin: optionalParam(Schema.String, "Text sent to the command's standard input"),
  directory_state_id: optionalParam(
    Schema.Int.pipe(Schema.positive()),
    "A directory_state_id from contree_rsync: its files are placed under its destination before the command starts"
  ),
  files: optionalParam(
    Schema.Record({ key: AbsolutePath, value: Schema.NonEmptyTrimmedString }),
    "Files to place before the command starts: absolute container path -> file uuid from contree_upload (wins over a synced file at the same path)"
  ),
  network: optionalParam(
    Schema.Boolean,
    "true: outbound network access (DNS, internet); false: loopback only; omitted: the server decides. " +
      "Local backend: only as far as its network setting allows (opt-in or on; refused under the default, off), never the host's loopback"
  ),
  uid: optionalParam(Schema.Int.pipe(Schema.nonNegative()), "Run the command as this user id (default 0, or the image's User)"),
  gid: optionalParam(Schema.Int.pipe(Schema.nonNegative()), "Group id for uid (default 0)"),
  preserve_env: withDefault(Schema.Boolean, false, "With disposable=false: bake env into the result image, so later runs on it see it"),
  max_layer_bytes: optionalParam(
    Schema.Int.pipe(Schema.positive()),
    "With disposable=false: the most the run's changes may weigh; more fails the run and saves no image"
  ),
  wait: withDefault(Schema.Boolean, true, "Wait for the result. false: return the operation_id at once"),
  truncate_output_at: withDefault(
    Schema.Int.pipe(Schema.between(1, 16 * 1024 * 1024)),
    8000,
    "Maximum bytes kept of each of stdout and stderr"
  )
})

/**
 * A synced state's files as the spawn request places them: one object per answer of
 * `FileSync.files` (kept while the state is unchanged), so a local engine in this process checks
 * and hashes the same object once, not on every run.
 */
const placed = new WeakMap<ReadonlyArray<SyncedFile>, Record<string, InstanceFileSpec>>()
const placedFiles = (synced: ReadonlyArray<SyncedFile>): Record<string, InstanceFileSpec> => {
  let files = placed.get(synced)
  if (files === undefined) {
    files = {}
    for (const file of synced) files[file.path] = { uuid: file.uuid, mode: file.mode, uid: 0, gid: 0 }
    placed.set(synced, files)
  }
  return files
}

export const contreeRun = defineTool({
  name: "contree_run",
  title: "Run a command in a sandbox",
  description: [
    "Run a command in an isolated sandbox started from an immutable image. Starts a sandbox (the only costly tool besides contree_import_image).",
    "Nothing a command does can affect the image it started from or the host: destructive experiments are safe.",
    "Local backend: sandboxes have loopback only unless the server's network setting allows outbound access (see `network`).",
    "disposable=false saves the final filesystem as a new image (result_image) to build on or branch from.",
    "status SUCCESS means the command ran; judge it by exit_code. timed_out=true means it was killed at `timeout`.",
    "wait=false returns an operation_id at once: start several, then collect them with contree_wait_operations.",
    "Local code: sync it with contree_rsync and pass directory_state_id; single files: contree_upload, then `files`.",
    "Guides: contree://guide/quickstart, contree://guide/state, contree://guide/async."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: Input,
  output: OperationView,
  handler: Effect.fn("contree_run")(function*(input) {
    const client = yield* ContreeClient
    const waiter = yield* OperationWaiter
    const policy = yield* RetryPolicy
    const image = yield* resolveImage(input.image)
    let files: Record<string, InstanceFileSpec> = {}
    if (input.directory_state_id !== undefined) {
      const fileSync = yield* FileSync
      const synced = yield* fileSync.files(input.directory_state_id).pipe(
        Effect.catchTag("FileSyncError", (error) => Effect.fail(fileSyncToolError(error)))
      )
      // An empty state is almost always a mistake (everything excluded, wrong directory): say so now
      // rather than let the command fail on missing files.
      if (synced.length === 0) {
        return yield* invalidInput(
          `directory_state_id ${input.directory_state_id} has no files: its last contree_rsync found none ` +
            "(everything excluded, or an empty directory). Check that sync's files and skipped counts."
        )
      }
      files = placedFiles(synced)
    }
    if (input.files !== undefined) {
      files = { ...files }
      for (const [path, uuid] of Object.entries(input.files)) files[path] = { uuid, mode: "0644", uid: 0, gid: 0 }
    }
    const operationId = yield* client.spawnInstance({
      command: input.command,
      image,
      hostname: "linuxkit",
      args: [],
      shell: input.shell,
      env: input.env ?? {},
      ...(input.cwd === undefined ? {} : { cwd: input.cwd }),
      disposable: input.disposable,
      stdin: encodeStream(input.stdin),
      timeout: input.timeout,
      truncate_output_at: input.truncate_output_at,
      files,
      ...(input.uid === undefined ? {} : { uid: input.uid }),
      ...(input.gid === undefined ? {} : { gid: input.gid }),
      ...(input.preserve_env ? { preserve_env: true } : {}),
      ...(input.max_layer_bytes === undefined ? {} : { resources_limits: { max_layer_bytes: input.max_layer_bytes } })
    }, { network: input.network })
    yield* waiter.track(operationId)
    if (!input.wait) return pendingView(operationId, "instance")
    const context = yield* ToolContext
    const started = yield* Clock.currentTimeMillis
    const op = yield* waiter.wait(operationId, {
      // The command's own timeout, plus room for queueing and start-up, bounds the wait.
      timeout: Duration.sum(Duration.seconds(input.timeout), policy.runGrace),
      onProgress: (current) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          context.progress((now - started) / 1000, undefined, `operation ${operationId} is ${current.status}`)),
      // The output as it comes (backends that publish it: the cloud's event stream), coalesced.
      onOutput: outputFeed((message) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => context.progress((now - started) / 1000, undefined, `operation ${operationId} output:\n${message}`)))
    })
    return toOperationView(op)
  })
})
