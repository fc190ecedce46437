import { Schema } from "effect"
import { type Operation, OperationKind, OperationStatus } from "../domain/Operation.js"
import { decodeStream } from "../domain/OutputStream.js"

const Encoding = Schema.Literal("utf-8", "base64")
const opt = <A, I>(schema: Schema.Schema<A, I>, description: string) => Schema.optional(schema.annotations({ description }))

/**
 * An operation flattened for agents: the process outcome sits at the top level instead of under
 * `metadata.result`, and output is text (or base64 when the bytes are not UTF-8).
 */
export const OperationView = Schema.Struct({
  operation_id: Schema.String,
  kind: OperationKind,
  status: OperationStatus.annotations({
    description: "SUCCESS means the operation ran to the end; check exit_code for the command's own result"
  }),
  error: opt(Schema.String, "Why the operation FAILED or was CANCELLED"),
  image: opt(Schema.String, "Input image UUID"),
  exit_code: opt(Schema.Number, "Exit code of the command; -1 when it timed out"),
  signal: opt(Schema.Number, "Signal that ended the process, if any"),
  timed_out: opt(Schema.Boolean, "True when the command hit its timeout"),
  stdout: opt(Schema.String, "Standard output"),
  stdout_encoding: opt(Encoding, "'base64' when stdout was not valid UTF-8"),
  stdout_truncated: opt(Schema.Boolean, "True when stdout was cut at truncate_output_at bytes"),
  stderr: opt(Schema.String, "Standard error"),
  stderr_encoding: opt(Encoding, "'base64' when stderr was not valid UTF-8"),
  stderr_truncated: opt(Schema.Boolean, "True when stderr was cut at truncate_output_at bytes"),
  result_image: opt(Schema.NullOr(Schema.String), "New image UUID saved by a disposable=false run or an import"),
  result_tag: opt(Schema.String, "Tag given to the result image"),
  registry_url: opt(Schema.String, "Source of an image import"),
  duration: opt(Schema.Number, "Seconds the operation took")
})
export type OperationView = typeof OperationView.Type

/** Only fields that carry information are set, so a pending operation is a two-line answer. */
export const toOperationView = (op: Operation): OperationView => {
  const view: { -readonly [K in keyof OperationView]: OperationView[K] } = {
    operation_id: op.uuid,
    kind: op.kind,
    status: op.status
  }
  if (op.error) view.error = op.error
  const instance = op.instance
  if (instance !== undefined) {
    view.image = instance.image
    const result = instance.result
    if (result !== null) {
      const stdout = decodeStream(result.stdout)
      const stderr = decodeStream(result.stderr)
      view.exit_code = result.state.exit_code
      if (result.state.signal > 0) view.signal = result.state.signal
      view.timed_out = result.state.timed_out
      view.stdout = stdout.text
      if (stdout.encoding === "base64") view.stdout_encoding = "base64"
      view.stdout_truncated = result.stdout.truncated
      view.stderr = stderr.text
      if (stderr.encoding === "base64") view.stderr_encoding = "base64"
      view.stderr_truncated = result.stderr.truncated
    }
  }
  const imported = op.importMetadata
  if (imported !== undefined) view.registry_url = imported.registry.url
  if (op.isTerminal) {
    view.result_image = op.resultImage
    if (op.result?.tag) view.result_tag = op.result.tag
    view.duration = op.duration
  }
  return view
}

export const pendingView = (operationId: string, kind: OperationView["kind"]): OperationView => ({
  operation_id: operationId,
  kind,
  status: "PENDING"
})
