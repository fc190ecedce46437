import { Schema } from "effect"
import type { CacheError } from "../services/ContreeCache.js"
import type { ContreeApiError } from "../services/ContreeError.js"
import type { WaitTimeout } from "../services/OperationWaiter.js"

/** What an agent should do about a failed call: fix its input, fix setup, retry later, or report. */
export const ToolErrorReason = Schema.Literal("InvalidInput", "NotFound", "Unauthorized", "Timeout", "Upstream", "Internal")

/** The only error a tool handler may fail with; its message is what the agent reads. */
export class ToolError extends Schema.TaggedError<ToolError>()("ToolError", {
  reason: ToolErrorReason,
  message: Schema.String
}) {}

export const invalidInput = (message: string) => new ToolError({ reason: "InvalidInput", message })

/** Advice for failures of the ConTree API; the local engine's messages say themselves what helps. */
const apiHint: Partial<Record<ContreeApiError["reason"], string>> = {
  RateLimited: " The API is rate limiting; wait a little and retry.",
  Server: " The ConTree service had an internal error; retrying later may help.",
  Transport: " Check the network and the configured URL.",
  Timeout: " The API did not answer in time; retrying later may help."
}

const apiReason = (error: ContreeApiError): ToolError["reason"] => {
  switch (error.reason) {
    case "NotFound":
      return "NotFound"
    case "Unauthorized":
    case "Forbidden":
      return "Unauthorized"
    case "InvalidRequest":
    case "Conflict":
      return "InvalidInput"
    case "Timeout":
      return "Timeout"
    default:
      return "Upstream"
  }
}

/** Which request failed, for the cloud; nothing for the local engine, whose message stands on its own. */
const where = (error: ContreeApiError): string =>
  error.method === undefined
    ? ""
    : ` (ConTree API ${error.method} ${error.path ?? ""}${error.status === undefined ? "" : ` answered ${error.status}`}).${
      apiHint[error.reason] ?? ""
    }`

/** Maps every service error to a ToolError whose message says what failed and what helps. */
export const toToolError = (error: ContreeApiError | WaitTimeout | CacheError | ToolError): ToolError => {
  switch (error._tag) {
    case "ToolError":
      return error
    case "ContreeApiError":
      return new ToolError({ reason: apiReason(error), message: `${error.message}${where(error)}` })
    case "WaitTimeout":
      return new ToolError({ reason: "Timeout", message: error.message })
    case "CacheError":
      return new ToolError({ reason: "Internal", message: `local cache failure: ${error.message}` })
  }
}
