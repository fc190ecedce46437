import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { Cause, Effect, Option } from "effect"
import { ContreeLive } from "../layers/ContreeLive.js"
import type { ContreeConfigShape } from "../services/ContreeConfig.js"
import { makeServerFactory } from "./McpServer.js"
import { defaultRegistry, type Registry } from "./Registry.js"
import { serveHttp } from "./serveHttp.js"
import { serveStdio } from "./serveStdio.js"
import { StderrLogger } from "./StderrLogger.js"

/** Prints why a command failed on stderr (stdout may be the protocol) and fails with it. */
export const reportFailure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        const failure = Cause.failureOption(cause)
        const text = Option.isSome(failure) && typeof failure.value === "object" && failure.value !== null && "message" in failure.value
          ? String(failure.value.message)
          : Cause.pretty(cause)
        if (!Cause.isInterruptedOnly(cause)) process.stderr.write(`contree-mcp: ${text}\n`)
      })
    )
  )

/**
 * The whole server for a configuration: layers composed once, then the chosen transport.
 * The logger is provided outermost so that finalizers of the other layers still log to stderr.
 */
export const serve = (config: ContreeConfigShape, registry: Registry = defaultRegistry) => {
  const connected = new Set<Server>()
  const program = Effect.gen(function*() {
    const createServer = yield* makeServerFactory(registry)
    return yield* config.mode === "http"
      ? serveHttp(createServer, registry, { listen: config.httpListen, port: config.httpPort }, connected)
      : serveStdio(createServer, connected)
  })
  return program.pipe(
    Effect.scoped,
    Effect.provide(ContreeLive(config)),
    reportFailure,
    Effect.provide(StderrLogger(config.logLevel, connected))
  )
}
