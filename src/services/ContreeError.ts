import { Schema } from "effect"

/**
 * Why a call to the ConTree API failed. Each reason maps to a distinct recovery for an agent:
 * fix the input, fix credentials, retry later, or report an outage.
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
  "Decode"
)
export type ApiErrorReason = typeof ApiErrorReason.Type

/** A failed API call. `message` is the API's own text when it sent one; it never holds the token. */
export class ContreeApiError extends Schema.TaggedError<ContreeApiError>()("ContreeApiError", {
  reason: ApiErrorReason,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  method: Schema.String,
  path: Schema.String
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
