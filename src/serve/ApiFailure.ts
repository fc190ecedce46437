import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, ParseResult, Schema } from "effect"
import { ApiFailure } from "../api/ApiSchemas.js"
import { encodeErrorBody } from "../api/HandWrittenRoutes.js"
import { LocalEngine } from "../local/LocalEngine.js"
import { httpStatus, type LocalEngineError } from "../local/LocalEngineError.js"

export { ApiFailure }

export const badRequest = (message: string) => new ApiFailure({ status: 400, message })
export const notFound = (message: string) => new ApiFailure({ status: 404, message })

/** The engine's refusal, with the status the cloud answers in the same situation. */
export const fromEngine = (error: LocalEngineError) => new ApiFailure({ status: httpStatus[error.reason], message: error.message })

/** A handler over the engine, its refusals turned into the definition's error. */
export const withEngine = <A, R>(handle: (engine: LocalEngine["Type"]) => Effect.Effect<A, LocalEngineError | ApiFailure, R>) =>
  Effect.flatMap(LocalEngine, handle).pipe(
    Effect.mapError((error) => (error._tag === "LocalEngineError" ? fromEngine(error) : error))
  )

/** The 404 of an unknown endpoint, for a route of the definition that this server does not answer yet. */
export const notServed = ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }) =>
  Effect.fail(notFound(`no such endpoint: ${request.method} ${request.url}`))

/**
 * A path or query parameter out of the definition's shape: a 400 naming the parameter
 * ("tag is required", "status must be one of …").
 */
export const fromDecodeError = (error: HttpApiError.HttpApiDecodeError) => {
  const issue = error.issues[0]
  if (issue === undefined) return badRequest(error.message)
  const name = issue.path.join(".")
  if (issue._tag === "Missing") return badRequest(`${name} is required`)
  return badRequest(name === "" || issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`)
}

/** `{"error": ..., "status": ...}`: the one error shape every client of the API parses, whatever the status. */
export const errorResponse = (status: number, message: string) => HttpServerResponse.unsafeJson(encodeErrorBody(status, message), { status })

// Spawn bodies carry stdin inline (base64 grows it by a third); nothing legitimate comes near this.
const MAX_JSON_BODY = 64 * 1024 * 1024

/**
 * The JSON body of `endpoint`, decoded with the definition's payload schema; unreadable JSON or a
 * field out of shape is a 400 that names the field. Read here rather than by `HttpApiBuilder`,
 * which trusts the Content-Type, has no size cap, and turns unparsable JSON into a defect.
 */
export const jsonPayload = <Payload>(endpoint: { readonly payloadSchema: Option.Option<Schema.Schema<Payload, unknown>> }) =>
  HttpServerRequest.schemaBodyJson(Option.getOrThrow(endpoint.payloadSchema)).pipe(
    Effect.mapError((error) =>
      ParseResult.isParseError(error)
        ? badRequest(`invalid request body: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)
        : badRequest(`request body is not valid JSON (or is over ${MAX_JSON_BODY / 1024 / 1024} MiB)`)
    ),
    HttpIncomingMessage.withMaxBodySize(Option.some(MAX_JSON_BODY))
  )

/** A success of `endpoint` with response headers, which `HttpApi` has no schema for: the body encoded with `schema`. */
export const encodedJson = <A, I>(schema: Schema.Schema<A, I>, value: A, options: { readonly status: number; readonly headers?: Record<string, string> }) =>
  HttpServerResponse.unsafeJson(Schema.encodeSync(schema)(value), options)
