import { HttpRouter, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Cause, Effect, type Redacted } from "effect"
import { makeHostGuard } from "../http/HostGuard.js"
import type { LocalEngine } from "../local/LocalEngine.js"
import { errorResponse, fromEngine } from "./ApiFailure.js"
import { fileRoutes } from "./routes/fileRoutes.js"
import { imageRoutes } from "./routes/imageRoutes.js"
import { inspectRoutes } from "./routes/inspectRoutes.js"
import { operationRoutes } from "./routes/operationRoutes.js"
import { makeTokenCheck } from "./ServeToken.js"

export interface ApiAppOptions {
  /** The address the server listens on: requests must be addressed to it (or to a loopback name). */
  readonly listen: string
  readonly token: Redacted.Redacted<string>
}

/** Every endpoint of the ConTree REST API v1 the local engine answers, under `/v1`. */
export const apiRouter = HttpRouter.empty.pipe(
  HttpRouter.concat(imageRoutes),
  HttpRouter.concat(inspectRoutes),
  HttpRouter.concat(fileRoutes),
  HttpRouter.concat(operationRoutes),
  HttpRouter.prefixAll("/v1")
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
    const routes = yield* HttpRouter.toHttpApp(apiRouter).pipe(HttpRouter.withRouterConfig({ ignoreTrailingSlash: false, caseSensitive: true }))
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
        LocalEngineError: (error) => {
          const failure = fromEngine(error)
          return Effect.succeed(errorResponse(failure.status, failure.message))
        },
        RouteNotFound: (notFound) => Effect.succeed(errorResponse(404, `no such endpoint: ${notFound.request.method} ${notFound.request.url}`))
      }),
      Effect.catchAllDefect((defect) =>
        Effect.logError("serve: a request failed unexpectedly", Cause.die(defect)).pipe(Effect.as(errorResponse(500, "internal server error")))
      )
    )
  })
