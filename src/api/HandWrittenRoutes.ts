/**
 * The parts of the ConTree REST API v1 that `HttpApi` cannot express, described once beside
 * `ContreeApi.ts` with its schemas, for the hand-written code on each side:
 *
 * - the event stream (`GET /operations/{id}/events`): Server-Sent Events, a body of frames that
 *   never ends while the operation runs, resumed with `Last-Event-Id`;
 * - response headers: the `Location` of a created operation and of the redirects;
 * - the error body, which is one schema (`ErrorBody`) under whatever status the failure has,
 *   where `HttpApi` fixes a status per error schema.
 *
 * Also outside `HttpApi`'s model, and handled where they are used: a HEAD check's 404 means
 * "false", not a failure (serve answers a bare status, the client accepts 404); streamed bodies
 * are declared as bytes but streamed by both sides; and a listing's text or JSON form is chosen by
 * the `text` parameter, not by a status, so the client picks the schema per call.
 */
import { Schema } from "effect"
import { ApiError, ApiFailure, ErrorBody, PresenceFlag } from "./ApiSchemas.js"

// == Location headers

/** `Location` of a created operation (spawn, import): absolute from the API root. */
export const operationLocation = (uuid: string) => `/v1/operations/${encodeURIComponent(uuid)}`

/** The operation id of a created operation's `Location`: its last path segment (`""` when none). */
export const idFromLocation = (location: string | undefined): string => location?.replace(/\/+$/, "").split("/").pop() ?? ""

/**
 * `Location` of the 302 of `resolveTag`: relative to `/v1/inspect/`, so that it stays right behind a
 * proxy that mounts the API under a path prefix.
 */
export const tagLocation = (uuid: string) => `${encodeURIComponent(uuid)}/`

/** `Location` of the 308 of `inspectSlashless` (`/inspect?q` → `inspect/?q`). */
export const inspectSlashlessLocation = (search: string) => `inspect/${search}`

/** `Location` of the 308 of `imageSlashless` (`/inspect/{uuid}?q` → `{uuid}/?q`). */
export const imageSlashlessLocation = (uuid: string, search: string) => `${encodeURIComponent(uuid)}/${search}`

// == the error body

/** The message of an error response: the `error` field of an `ErrorBody`, else the raw text, else the status. */
export const errorMessage = (status: number, body: string): string => {
  const decoded = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody))(body)
  if (decoded._tag === "Some" && typeof decoded.value.error === "string") return decoded.value.error
  const text = body.trim()
  return text.length > 0 ? text.slice(0, 500) : `HTTP ${status}`
}

/** The body of a failure with `status`, encoded. */
export const encodeErrorBody = (status: number, message: string) => Schema.encodeSync(ApiError)(new ApiFailure({ status, message }))

// == the event stream (#13; spec §1.5)

/** `GET /operations/{uuid}/events`, answered `text/event-stream`. */
export const operationEvents = {
  method: "GET",
  path: "/operations/:uuid/events",
  pathParams: Schema.Struct({ uuid: Schema.String }),
  urlParams: Schema.Struct({
    /** Keep the stream open while the operation runs; without it the retained log is replayed and the stream ends. */
    follow: PresenceFlag,
    spid: Schema.optional(Schema.NumberFromString),
    since: Schema.optional(Schema.NumberFromString)
  }),
  headers: Schema.Struct({ "last-event-id": Schema.optional(Schema.NumberFromString) }),
  contentType: "text/event-stream",
  /** Statuses a client treats as "events unavailable here": it falls back to polling the operation. */
  unavailableStatuses: [400, 404, 405, 406] as ReadonlyArray<number>
} as const

/** One frame's `data`: `{id, ts, spid?, type, data}`; `spid` 0 is the daemon, 1 the main process, 2+ subprocesses. */
export const OperationEvent = Schema.Struct({
  id: Schema.Int,
  ts: Schema.optional(Schema.String),
  spid: Schema.optional(Schema.Int),
  type: Schema.String,
  data: Schema.optional(Schema.Unknown)
})
export type OperationEvent = typeof OperationEvent.Type

/** The `completion` payload, in both shapes seen (`duration_ms`/`result_image_uuid`, or `duration`/`result_image`). */
export const CompletionEvent = Schema.Struct({
  status: Schema.String,
  result_image_uuid: Schema.optional(Schema.NullOr(Schema.String)),
  result_image: Schema.optional(Schema.NullOr(Schema.String)),
  error: Schema.optional(Schema.NullOr(Schema.String)),
  duration_ms: Schema.optional(Schema.Number),
  duration: Schema.optional(Schema.Number),
  image_size_bytes: Schema.optional(Schema.Number)
})
