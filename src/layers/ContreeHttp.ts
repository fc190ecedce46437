/**
 * The cloud backend's transport: one `send` with the retry, timeout and error policy, and the
 * readers built on it (JSON decoded by a schema, bytes, streams, HEAD checks). `ContreeClientLive`,
 * the file lookups (`FileLookupHttp`) and the event follower (`OperationEventsHttp`) share it.
 */
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Duration, Effect, Option, ParseResult, Redacted, Schema, Stream } from "effect"
import { release } from "node:os"
import { type Call, type DerivedRequest, endpointRequest, type EndpointInput, successSchema } from "../api/ApiRequest.js"
import { errorMessage } from "../api/HandWrittenRoutes.js"
import { redact } from "../domain/redact.js"
import { ContreeConfig } from "../services/ContreeConfig.js"
import { ContreeApiError, reasonForStatus } from "../services/ContreeError.js"
import { parseRetryAfter, RetryPolicy, retryWhile } from "../services/RetryPolicy.js"
import { serverName, version } from "../version.js"

/**
 * Whether replaying a request after an unknown outcome is harmless (spec §1.2, after the vendor's
 * generated clients): GET, HEAD and every DELETE (untag, cancel, kill) are; PATCH (tag) and every
 * POST (import, upload, spawn, exec, stdin) are not.
 */
export const isIdempotent = (method: string): boolean => method === "GET" || method === "HEAD" || method === "DELETE"

/**
 * Whether a failed status is worth another attempt: 425 and 429 always (the server's contract is
 * that both mean "rejected before any processing", so even a POST is safe to replay); 410 and 5xx
 * only for idempotent requests.
 */
export const isRetryableStatus = (status: number, idempotent: boolean): boolean =>
  status === 425 || status === 429 || (idempotent && (status === 410 || status >= 500))

// Connection-level failures that happen before a request reaches the server; safe to replay for any method.
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"])
const wasNotSent = (cause: unknown): boolean => {
  for (let c: unknown = cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === "string" && notSentCodes.has(code)) return true
  }
  return false
}

class Retryable {
  constructor(readonly error: ContreeApiError, readonly retry: boolean, readonly afterMs: number | undefined) {}
}

const userAgent = `${serverName}/${version} node/${process.versions.node} ${process.platform}/${release()}`

/** Reads a response that `send` accepted. */
export type Read<A> = (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, ContreeApiError>

export const makeContreeHttp = Effect.gen(function*() {
  const config = yield* ContreeConfig
  const policy = yield* RetryPolicy
  const baseUrl = `${config.url.replace(/\/+$/, "")}/v1`
  const http = (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest((request) => {
      const withBase = HttpClientRequest.prependUrl(request, baseUrl).pipe(HttpClientRequest.setHeader("user-agent", userAgent))
      // IAM deployments scope every request to a project (spec §1.1); JWT ones have none.
      const scoped = Option.match(config.project, {
        onNone: () => withBase,
        onSome: (project) => HttpClientRequest.setHeader(withBase, "project", project)
      })
      return Option.match(config.token, {
        onNone: () => scoped,
        onSome: (token) => HttpClientRequest.bearerToken(scoped, token)
      })
    })
  )

  // A server or proxy may echo the credentials in an error body; they never reach a message.
  const secret = Option.getOrUndefined(Option.map(config.token, Redacted.value))

  const fail = (call: Call, reason: ContreeApiError["reason"], message: string, status?: number) =>
    new ContreeApiError({ reason, message: redact(message, secret), method: call.method, path: call.path, ...(status === undefined ? {} : { status }) })

  const missingToken = (call: Call) =>
    fail(
      call,
      "Unauthorized",
      "No ConTree API token is configured. Put `token = <TOKEN>` under [DEFAULT] in ~/.config/contree/mcp.ini " +
        "(or set CONTREE_MCP_TOKEN, or pass --token) and restart the server."
    )

  /**
   * Sends one request and reads its response with `read`, all under the per-attempt timeout.
   * Statuses `accept` refuses fail with the API's message, retried as `isRetryableStatus` says
   * (honouring Retry-After); time-outs and lost connections are retried only for idempotent
   * methods, or when nothing reached the server.
   */
  const send = <A>(
    call: Call,
    request: HttpClientRequest.HttpClientRequest,
    read: Read<A>,
    accept: (status: number) => boolean = (status) => status < 300
  ): Effect.Effect<A, ContreeApiError> => {
    const idempotent = isIdempotent(call.method)
    const attempt = http.execute(request).pipe(
      Effect.mapError((error) =>
        new Retryable(fail(call, "Transport", `cannot reach the ConTree API: ${error.message}`), idempotent || wasNotSent(error.cause), undefined)
      ),
      Effect.flatMap((response) =>
        accept(response.status)
          ? read(response).pipe(Effect.mapError((error) => new Retryable(error, false, undefined)))
          : response.text.pipe(
            Effect.orElseSucceed(() => ""),
            Effect.flatMap((body) => {
              const status = response.status
              return Effect.fail(
                new Retryable(
                  fail(call, reasonForStatus(status), errorMessage(status, body), status),
                  isRetryableStatus(status, idempotent),
                  parseRetryAfter(response.headers["retry-after"])
                )
              )
            })
          )
      ),
      Effect.timeoutFail({
        duration: policy.requestTimeout,
        onTimeout: () =>
          new Retryable(fail(call, "Timeout", `no answer within ${Duration.format(policy.requestTimeout)}`), idempotent, undefined)
      })
    )
    const schedule = retryWhile<Retryable>(policy)
    return Option.isNone(config.token)
      ? Effect.fail(missingToken(call))
      : attempt.pipe(Effect.retry(schedule), Effect.mapError((r) => r.error), Effect.withSpan(`ContreeClient ${call.method} ${call.path}`))
  }

  /** The body as JSON, decoded with `schema`. */
  const decode = <A, I>(call: Call, schema: Schema.Schema<A, I>): Read<A> => (response) =>
    response.json.pipe(
      Effect.flatMap(Schema.decodeUnknown(schema)),
      Effect.mapError((error) =>
        fail(
          call,
          "Decode",
          ParseResult.isParseError(error)
            ? `unexpected response from the ConTree API: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
            : `unreadable response from the ConTree API: ${error.message}`,
          response.status
        )
      )
    )

  /** A JSON call of `endpoint`, its answer decoded with `schema` (by default the endpoint's success schema). */
  const callJson = <E extends HttpApiEndpoint.HttpApiEndpoint.Any, A = HttpApiEndpoint.HttpApiEndpoint.Success<E>>(
    endpoint: E,
    input: EndpointInput<E>,
    schema = successSchema(endpoint) as unknown as Schema.Schema<A, any>
  ) => {
    const { call, request } = endpointRequest(endpoint, input)
    return send(call, HttpClientRequest.acceptJson(request), decode(call, schema))
  }

  /** A body streamed: only the wait for response headers is timed; the body takes as long as it needs. */
  const streamed = ({ call, request }: DerivedRequest) =>
    send(call, request, Effect.succeed).pipe(
      Effect.map((response) => response.stream.pipe(Stream.mapError((e) => fail(call, "Transport", `download interrupted: ${e.message}`)))),
      Stream.unwrap
    )

  /** A HEAD check: 2xx is true, 404 false. */
  const exists = <E extends HttpApiEndpoint.HttpApiEndpoint.Any>(endpoint: E, input: EndpointInput<E>) => {
    const { call, request } = endpointRequest(endpoint, input)
    return send(call, request, (r) => Effect.succeed(r.status < 300), (s) => s < 300 || s === 404)
  }

  return { config, policy, fail, send, decode, callJson, streamed, exists }
})

export type ContreeHttp = Effect.Effect.Success<typeof makeContreeHttp>
