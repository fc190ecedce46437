import { HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, ParseResult, Schema } from "effect"
import { httpStatus, type LocalEngineError } from "../local/LocalEngineError.js"

/** A request the server refuses, with the status and message the API's error body carries (spec §1.5). */
export class ApiFailure extends Schema.TaggedError<ApiFailure>()("ApiFailure", {
  status: Schema.Number,
  message: Schema.String
}) {}

export const badRequest = (message: string) => new ApiFailure({ status: 400, message })
export const notFound = (message: string) => new ApiFailure({ status: 404, message })

/** The engine's refusal, with the status the cloud answers in the same situation. */
export const fromEngine = (error: LocalEngineError) => new ApiFailure({ status: httpStatus[error.reason], message: error.message })

/** `{"error": ..., "status": ...}`: the one error shape every client of the API parses. */
export const errorResponse = (status: number, message: string) => HttpServerResponse.unsafeJson({ error: message, status }, { status })

// Spawn bodies carry stdin inline (base64 grows it by a third); nothing legitimate comes near this.
const MAX_JSON_BODY = 64 * 1024 * 1024

/** The JSON body decoded with `schema`; unreadable JSON or a field out of shape is a 400 that names the field. */
export const jsonBody = <A, I>(schema: Schema.Schema<A, I>) =>
  HttpServerRequest.schemaBodyJson(schema).pipe(
    Effect.mapError((error) =>
      ParseResult.isParseError(error)
        ? badRequest(`invalid request body: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)
        : badRequest(`request body is not valid JSON (or is over ${MAX_JSON_BODY / 1024 / 1024} MiB)`)
    ),
    HttpIncomingMessage.withMaxBodySize(Option.some(MAX_JSON_BODY))
  )
