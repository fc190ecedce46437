import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Effect, Layer, type Redacted } from "effect"
import { makeHostGuard } from "../http/HostGuard.js"
import type { LocalEngine } from "../local/LocalEngine.js"
import { type ApiFailure, errorResponse, fromDecodeError } from "./ApiFailure.js"
import { fileRoutes } from "./routes/fileRoutes.js"
import { imageRoutes } from "./routes/imageRoutes.js"
import { inspectRoutes } from "./routes/inspectRoutes.js"
import { instanceRoutes, operationRoutes, whoamiRoutes } from "./routes/operationRoutes.js"
import { makeTokenCheck } from "./ServeToken.js"

export interface ApiAppOptions {
  /** The address the server listens on: requests must be addressed to it (or to a loopback name). */
  readonly listen: string
  readonly token: Redacted.Redacted<string>
}

/**
 * Every group of `ContreeApi` with the local engine's handlers. The handlers read `LocalEngine`
 * from each request's context, which `HttpApiBuilder` merges over the layer's: the router is built
 * once, before any engine is at hand, hence the requirement is dropped here.
 */
const handlers = Layer.mergeAll(
  HttpApiBuilder.Router.Live,
  imageRoutes,
  inspectRoutes,
  fileRoutes,
  instanceRoutes,
  operationRoutes,
  whoamiRoutes
) as Layer.Layer<HttpApiBuilder.Router, never, never>

/**
 * Every endpoint of the ConTree REST API v1 the local engine answers, under `/v1`: the router of
 * `ContreeApi`'s endpoints (`HttpApiBuilder`), without `HttpApiBuilder.httpApp`'s error encoding, so
 * that every failure gets the API's one error body below.
 */
export const apiRouter = Effect.map(
  Effect.provide(HttpApiBuilder.Router.router, handlers),
  // The builder's router is typed for any handler; these fail only with the definition's errors
  // and need nothing beyond the request (no file responses, so no platform services).
  (router) => HttpRouter.prefixAll(router as unknown as HttpRouter.HttpRouter<ApiFailure | HttpApiError.HttpApiDecodeError, LocalEngine>, "/v1")
)

/**
 * The local engine as the ConTree API: the Host guard and the bearer token first, then the
 * routes; every failure becomes the API's error body, so a bad request never takes the server down.
 */
export const makeApiApp = (
  options: ApiAppOptions
): Effect.Effect<Effect.Effect<HttpServerResponse.HttpServerResponse, never, LocalEngine | HttpServerRequest.HttpServerRequest>> =>
  Effect.gen(function*() {
    const hostAllowed = makeHostGuard(options.listen)
    const authorized = makeTokenCheck(options.token)
    // Built once. `/inspect/` and `/inspect` are different endpoints (one redirects to the other), and paths are case-sensitive.
    const routes = yield* Effect.flatMap(apiRouter, HttpRouter.toHttpApp).pipe(HttpRouter.withRouterConfig({ ignoreTrailingSlash: false, caseSensitive: true }))
    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!hostAllowed({ host: request.headers["host"], origin: request.headers["origin"] })) {
        return errorResponse(403, "Forbidden: the Host or Origin header does not name this server")
      }
      if (!authorized(request.headers["authorization"])) {
        return errorResponse(401, "missing or invalid bearer token (see `contree-mcp serve --help` for where the token is)")
      }
      return yield* routes
    }).pipe(
      Effect.catchTags({
        ApiFailure: (failure) => Effect.succeed(errorResponse(failure.status, failure.message)),
        HttpApiDecodeError: (error) => {
          const failure = fromDecodeError(error)
          return Effect.succeed(errorResponse(failure.status, failure.message))
        },
        RouteNotFound: (notFound) => Effect.succeed(errorResponse(404, `no such endpoint: ${notFound.request.method} ${notFound.request.url}`))
      }),
      Effect.catchAllDefect((defect) =>
        Effect.logError("serve: a request failed unexpectedly", Cause.die(defect)).pipe(Effect.as(errorResponse(500, "internal server error")))
      )
    )
  })
