/**
 * Client requests derived from `ContreeApi`'s endpoints: the method, the path with its parameters,
 * the query string and the JSON body, each encoded by the endpoint's schemas.
 *
 * Not `HttpApiClient`: the cloud client keeps its own `send` (one retry schedule that replays a
 * POST only when nothing was sent, a per-attempt timeout that covers only the wait for headers of
 * a download, errors that name the method and path with the token redacted, an operation id from
 * the body or `Location`, uploads re-read on retry, redirects followed), which `HttpApiClient`'s
 * decode-by-status cannot carry. The endpoints still say what is sent and how the answer decodes.
 */
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import { type Option, Schema } from "effect"

type Any = HttpApiEndpoint.HttpApiEndpoint.Any

/** What a call of `E` carries: its path parameters, query parameters and JSON body, each where it has one. */
export type EndpointInput<E extends Any> =
  & ([HttpApiEndpoint.HttpApiEndpoint.PathParsed<E>] extends [never] ? {} : { readonly path: HttpApiEndpoint.HttpApiEndpoint.PathParsed<E> })
  & ([HttpApiEndpoint.HttpApiEndpoint.UrlParams<E>] extends [never] ? {} : { readonly urlParams: HttpApiEndpoint.HttpApiEndpoint.UrlParams<E> })
  & ([HttpApiEndpoint.HttpApiEndpoint.Payload<E>] extends [never] ? {} : { readonly payload?: HttpApiEndpoint.HttpApiEndpoint.Payload<E> })

/** The method and the path (relative to `/v1`, parameters filled in): what errors and spans name. */
export interface Call {
  readonly method: HttpMethod.HttpMethod
  readonly path: string
}

export interface DerivedRequest {
  readonly call: Call
  readonly request: HttpClientRequest.HttpClientRequest
}

/** The endpoint's schemas, whose types the generic signatures below restore. */
const props = (endpoint: Any) =>
  endpoint as unknown as {
    readonly method: HttpMethod.HttpMethod
    readonly path: string
    readonly pathSchema: Option.Option<Schema.Schema<any, any>>
    readonly urlParamsSchema: Option.Option<Schema.Schema<any, any>>
    readonly payloadSchema: Option.Option<Schema.Schema<any, any>>
    readonly successSchema: Schema.Schema<any, any>
  }

const encodeRecord = (schema: Schema.Schema<any, any>, value: unknown): Record<string, unknown> =>
  Schema.encodeUnknownSync(schema)(value) as Record<string, unknown>

/** `/inspect/:uuid/list` with `{uuid}` → `/inspect/<uuid, percent-encoded>/list`. */
export const endpointPath = <E extends Any>(endpoint: E, input: EndpointInput<E>): string => {
  const { path, pathSchema } = props(endpoint)
  if (pathSchema._tag === "None" || !("path" in input)) return path
  const params = encodeRecord(pathSchema.value, input.path)
  return path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(String(params[name])))
}

/** The query string's parameters, encoded by the endpoint's schema; absent ones are left out. */
export const endpointUrlParams = <E extends Any>(endpoint: E, input: EndpointInput<E>): Record<string, string | ReadonlyArray<string>> => {
  const { urlParamsSchema } = props(endpoint)
  if (urlParamsSchema._tag === "None" || !("urlParams" in input)) return {}
  const encoded = encodeRecord(urlParamsSchema.value, input.urlParams)
  return Object.fromEntries(
    Object.entries(encoded).filter((entry): entry is [string, string | ReadonlyArray<string>] => entry[1] !== undefined)
  )
}

/**
 * The request of one call of `endpoint`: method, path, query string, and the payload, when given,
 * as JSON encoded by the endpoint's schema (a raw body, an upload, is the caller's to set).
 */
export const endpointRequest = <E extends Any>(endpoint: E, input: EndpointInput<E>): DerivedRequest => {
  const { method, payloadSchema } = props(endpoint)
  const path = endpointPath(endpoint, input)
  let request = HttpClientRequest.make(method)(path).pipe(HttpClientRequest.setUrlParams(endpointUrlParams(endpoint, input)))
  if ("payload" in input && input.payload !== undefined && payloadSchema._tag === "Some") {
    request = HttpClientRequest.bodyUnsafeJson(request, Schema.encodeUnknownSync(payloadSchema.value)(input.payload))
  }
  return { call: { method, path }, request }
}

/** The schema a success of `endpoint` decodes with. */
export const successSchema = <E extends Any>(endpoint: E): Schema.Schema<HttpApiEndpoint.HttpApiEndpoint.Success<E>, any> =>
  props(endpoint).successSchema
