import { Schema } from "effect"

/**
 * Why a call to the backend (the ConTree API, or the local engine) failed. Each reason maps to a
 * distinct recovery for an agent: fix the input, fix credentials, retry later, or report an outage.
 */
export const ApiErrorReason = Schema.Literal(
  "InvalidRequest",
  "Unauthorized",
  "Forbidden",
  "NotFound",
  "Conflict",
  "RateLimited",
  "Server",
  "Transport",
  "Timeout",
  "Decode",
  "Unavailable"
)
export type ApiErrorReason = typeof ApiErrorReason.Type

/**
 * A failed `ContreeClient` call. `message` is the backend's own text when it sent one; it never
 * holds the token. `method`, `path` and `status` name the HTTP request when the failure came from
 * the ConTree API; a failure of the local engine has none of them (`Unavailable`: it cannot run here).
 */
export class ContreeApiError extends Schema.TaggedError<ContreeApiError>()("ContreeApiError", {
  reason: ApiErrorReason,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  method: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String)
}) {}

export const reasonForStatus = (status: number): ApiErrorReason =>
  status === 401
    ? "Unauthorized"
    : status === 403
    ? "Forbidden"
    : status === 404 || status === 410
    ? "NotFound"
    : status === 409
    ? "Conflict"
    : status === 425 || status === 429
    ? "RateLimited"
    : status >= 500
    ? "Server"
    : "InvalidRequest"
