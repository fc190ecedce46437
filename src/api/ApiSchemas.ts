/**
 * The wire schemas of the ConTree REST API v1 that `src/domain` does not already hold: the error
 * body, query-parameter forms, and the current generation's bodies (files by hash, grep,
 * subprocesses, whoami). Spec: contree-api-current.md §1.3–1.4.
 */
import { ParseResult, Schema } from "effect"
import { Timestamp } from "../domain/Image.js"
import { UploadedFile } from "../domain/Inspect.js"

/** `{"error": ..., "status"?: ..., "traceback"?: [...]}`: every failure, whatever its status (spec §1.1). */
export const ErrorBody = Schema.Struct({
  error: Schema.Unknown,
  status: Schema.optional(Schema.Number),
  traceback: Schema.optional(Schema.Array(Schema.String))
})
export type ErrorBody = typeof ErrorBody.Type

/** A refusal: the status of the response and the message its `ErrorBody` carries. */
export class ApiFailure extends Schema.TaggedError<ApiFailure>()("ApiFailure", {
  status: Schema.Number,
  message: Schema.String
}) {}

/**
 * Every endpoint's error, as it crosses the wire: an `ErrorBody` under the failure's own status
 * (`HttpApi` fixes one status per error schema, so the status is carried in the value instead).
 */
export const ApiError = Schema.transform(
  Schema.Struct({ error: Schema.String, status: Schema.Number }),
  Schema.typeSchema(ApiFailure),
  {
    strict: true,
    decode: ({ error, status }) => new ApiFailure({ status, message: error }),
    encode: ({ message, status }) => ({ error: message, status })
  }
)

// == query parameters

const quoted = (actual: unknown) => JSON.stringify(actual)

/**
 * A parameter that must be present and not empty; either failure reads "`name` is required".
 * Checked where it is received: a client sends what it is given, and the server names the problem.
 */
export const requiredParam = (name: string) =>
  Schema.transformOrFail(Schema.String, Schema.String, {
    strict: true,
    decode: (value, _, ast) => (value === "" ? ParseResult.fail(new ParseResult.Type(ast, value, `${name} is required`)) : ParseResult.succeed(value)),
    encode: ParseResult.succeed
  })

/** One of `allowed`; anything else is refused with the parameter named and the choices listed. */
export const oneOf = <const T extends ReadonlyArray<string>>(name: string, allowed: T) =>
  Schema.String.pipe(
    Schema.filter((value): value is T[number] => allowed.includes(value), {
      message: (issue) => `${name} must be one of ${allowed.join(", ")}; got ${quoted(issue.actual)}`
    })
  )

/**
 * A page bound (`limit`, `offset`). Any text decodes (empty and non-numeric text to NaN): the
 * server judges the range and names the parameter, as both generations answer (spec §1.3 #1).
 */
export const PageBound = Schema.transform(Schema.String, Schema.Number, {
  strict: true,
  decode: (text) => (text.trim() === "" ? Number.NaN : Number(text)),
  encode: (value) => String(value)
})

/** `limit`/`offset` with the server's defaults when absent: 100 and 0. */
export const Page = {
  limit: Schema.optionalWith(PageBound, { default: () => 100 }),
  offset: Schema.optionalWith(PageBound, { default: () => 0 })
}

/** `since`/`until`: RFC3339 or a relative `1h`/`15m`/`1w`, judged by the server. */
export const TimeWindow = {
  since: Schema.optional(Schema.String),
  until: Schema.optional(Schema.String)
}

/** `tagged=1`/`0` (spec §3.1); `true`/`false` as some clients spell them. Sent as `1`/`0`. */
export const TaggedFlag = Schema.transform(oneOf("tagged", ["1", "0", "true", "false"]), Schema.Boolean, {
  strict: true,
  decode: (value) => value === "1" || value === "true",
  encode: (tagged) => (tagged ? "1" : "0")
})

/** A flag whose presence is what counts (`text`, `inflight`, `follow`): any value, the empty one included. */
export const PresenceFlag = Schema.optional(Schema.String)

// == bodies

export const TagBody = Schema.Struct({ tag: Schema.String })

/** `GET /files/{sha256}` (current generation: every field; older servers send the upload's three). */
export const FileRecord = Schema.Struct({
  ...UploadedFile.fields,
  created_at: Schema.optional(Timestamp),
  updated_at: Schema.optional(Timestamp)
})
export type FileRecord = typeof FileRecord.Type

/** `GET /files` without a lookup parameter: one page of uploads. */
export const FileList = Schema.Struct({ files: Schema.optionalWith(Schema.Array(FileRecord), { default: () => [] }) })

/** `DELETE /operations/{id}`: 202, with `{uuid, status}` from some servers and nothing from others. */
export const CancelledOperation = Schema.Struct({
  uuid: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String)
})

/** `GET /whoami`: `token_uuid`, `token_expiration`, `permissions`, `limits`, `operations_stat` on the cloud; any object is kept whole. */
export const WhoAmI = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** `ClosableStreamRepr`: stdin for a spawn, an exec or the stdin endpoint; `close` sends EOF. */
export const ClosableStream = Schema.Struct({
  value: Schema.String,
  encoding: Schema.optional(Schema.Literal("ascii", "base64")),
  close: Schema.optional(Schema.Boolean)
})

/** `POST /operations/{id}/subprocesses`: a process started inside a running instance (spec §1.6). */
export const ExecSpec = Schema.Struct({
  command: Schema.String,
  args: Schema.optional(Schema.Array(Schema.String)),
  shell: Schema.optional(Schema.Boolean),
  env: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })),
  cwd: Schema.optional(Schema.String),
  uid: Schema.optional(Schema.Int),
  gid: Schema.optional(Schema.Int),
  stdin: Schema.optional(ClosableStream),
  truncate_output_at: Schema.optional(Schema.Int)
})

/** The id of a started subprocess: 2 and up (1 is the main process). */
export const CreatedSubprocess = Schema.Struct({ spid: Schema.Int })

/** `DELETE /operations/{id}/subprocesses/{spid}`: the signal by name (`TERM`, `KILL`, …). */
export const KillParams = Schema.Struct({ signal: Schema.optional(Schema.String) })

/** `GET /inspect/{uuid}/grep`: ripgrep over the image's files; the repeatable parameters are arrays. */
/** A count in a query string: a non-negative integer, or the parameter is refused by name. */
const Count = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())

export const GrepParams = Schema.Struct({
  pattern: Schema.Array(Schema.String),
  path: Schema.optional(Schema.Array(Schema.String)),
  glob: Schema.optional(Schema.Array(Schema.String)),
  max_count: Schema.optional(Count),
  max_total: Schema.optional(Count),
  case: Schema.optional(oneOf("case", ["sensitive", "insensitive", "smart"])),
  before: Schema.optional(Count),
  after: Schema.optional(Count)
})

export const GrepMatch = Schema.Struct({
  path: Schema.String,
  line_number: Schema.Number,
  absolute_offset: Schema.optional(Schema.Number),
  line_text: Schema.String,
  line_bytes: Schema.optional(Schema.String),
  submatches: Schema.optional(Schema.Array(Schema.Struct({ text: Schema.String, start: Schema.Number, end: Schema.Number }))),
  type: Schema.optional(Schema.String)
})

export type GrepMatch = typeof GrepMatch.Type

export const GrepResult = Schema.Struct({
  path: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  patterns: Schema.Array(Schema.String),
  matches: Schema.Array(GrepMatch),
  truncated: Schema.Boolean
})
export type GrepResult = typeof GrepResult.Type

/**
 * What a file lookup may answer, as a careful client reads it: one file (`GET /files/{sha256}`, or
 * the older generation's `GET /files?sha256=`), the `{"file": …}` envelope, or a listing
 * (`{"files": […]}` or a bare array), which is what a current-generation server answers to the
 * older query whatever it asks (spec §1.7). Newer clients unwrap the envelopes too.
 */
export const FileLookupAnswer = Schema.Union(
  FileRecord,
  Schema.Struct({ file: FileRecord }),
  FileList,
  Schema.Array(FileRecord)
)
export type FileLookupAnswer = typeof FileLookupAnswer.Type

/** Whether an answer is a listing (the current generation's answer to `GET /files?…`), not one file. */
export const isFileListing = (answer: FileLookupAnswer): boolean => !("uuid" in answer) && !("file" in answer)

/** The files an answer holds: one, or a page. */
export const filesOfAnswer = (answer: FileLookupAnswer): ReadonlyArray<FileRecord> =>
  "uuid" in answer ? [answer] : "file" in answer ? [answer.file] : "files" in answer ? answer.files : answer
