import { Schema } from "effect"

/**
 * Why a call to the local engine failed, in the terms of the cloud API it stands in for:
 * `ContreeClientLocal` keeps the reason (and the engine's words), `serve` answers its status.
 */
export const LocalErrorReason = Schema.Literal("InvalidRequest", "NotFound", "Conflict", "Unavailable", "Internal")
export type LocalErrorReason = typeof LocalErrorReason.Type

/** The status the cloud answers in each situation: what `contree-mcp serve` sends for an engine failure. */
export const httpStatus: Record<LocalErrorReason, number> = {
  InvalidRequest: 400,
  NotFound: 404,
  Conflict: 409,
  Unavailable: 503,
  Internal: 500
}

export class LocalEngineError extends Schema.TaggedError<LocalEngineError>()("LocalEngineError", {
  reason: LocalErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export const invalidRequest = (message: string) => new LocalEngineError({ reason: "InvalidRequest", message })
export const notFound = (message: string) => new LocalEngineError({ reason: "NotFound", message })

/** Wraps an unexpected failure of the machine (disk, database, a tool) with what was being done. */
export const internal = (what: string) => (cause: unknown) =>
  new LocalEngineError({ reason: "Internal", message: `${what}: ${describeCause(cause)}`, cause })

/** A failed system call as Node reports it: its message names the host paths involved. */
const isSystemError = (cause: unknown): cause is Error & { readonly code: string; readonly syscall: string } =>
  cause instanceof Error && typeof (cause as { code?: unknown }).code === "string" && typeof (cause as { syscall?: unknown }).syscall === "string"

/**
 * What went wrong, for a message: a failed system call by its error code and call alone (`ENOSPC
 * (write)`), since its message names host paths (the data directory, layer ids) that a client must
 * not see; the cause itself stays on the error for the server's log.
 */
export const describeCause = (cause: unknown): string =>
  isSystemError(cause)
    ? `${cause.code} (${cause.syscall})`
    : cause instanceof Error
    ? cause.message
    : typeof cause === "object" && cause !== null && "message" in cause
    ? String(cause.message)
    : String(cause)
