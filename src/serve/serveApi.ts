import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Option, Redacted } from "effect"
import { createServer } from "node:http"
import { LocalEngineConfigured } from "../layers/LocalEngineConfigured.js"
import { reportFailure } from "../mcp/serve.js"
import { StderrLogger } from "../mcp/StderrLogger.js"
import type { ContreeConfigShape } from "../services/ContreeConfig.js"
import { makeApiApp } from "./ApiApp.js"
import type { ServeApiSettings } from "./ServeApiSettings.js"
import { resolveServeToken } from "./ServeToken.js"

// Not log lines: what a user needs to connect is printed at every log level.
const announce = (text: string) => Effect.sync(() => process.stderr.write(`contree-mcp serve: ${text}\n`))

/**
 * `contree-mcp serve`: the local engine over `dataDir`, answering the ConTree REST API v1 on
 * `listen:port`, so MCP servers started with `--backend cloud --url http://HOST:PORT` (ours or
 * another ConTree client) share one machine's sandboxes and images.
 */
export const serveApi = (config: ContreeConfigShape, settings: ServeApiSettings) => {
  const program = Effect.gen(function*() {
    const { generated, token } = yield* resolveServeToken({ fromEnv: settings.token, file: settings.tokenFile })
    if (Option.isSome(generated)) {
      // The one time the token is shown: at the start that made it. Later starts only say where it is.
      yield* announce(`generated an API token and stored it in ${generated.value} (mode 0600):\n\n    ${Redacted.value(token)}\n`)
    }
    yield* HttpServer.serveEffect(yield* makeApiApp({ listen: settings.listen, token }))
    const where = Option.isSome(settings.token) ? "CONTREE_MCP_SERVE_TOKEN" : settings.tokenFile
    yield* HttpServer.addressFormattedWith((address) =>
      announce(`ConTree API at ${address} (clients: --backend cloud --url ${address} and the token in ${where})`)
    )
    return yield* Effect.never
  })
  return program.pipe(
    Effect.scoped,
    Effect.provide(
      Layer.merge(
        NodeHttpServer.layer(createServer, { port: settings.port, host: settings.listen }),
        LocalEngineConfigured(config)
      )
    ),
    reportFailure,
    Effect.provide(StderrLogger(config.logLevel))
  )
}
