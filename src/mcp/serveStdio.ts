import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { Deferred, Effect, Exit, Runtime } from "effect"
import { StdioTransport } from "./StdioTransport.js"

/**
 * Serves one MCP session over stdin/stdout until the client closes stdin. The SDK transport does
 * not watch for end-of-input itself, and a server that outlived its client would linger as an orphan.
 * Ours answers an oversized or garbled line with an error and goes on; the server logs it.
 */
export const serveStdio = (createServer: () => Server, connected: Set<Server>) =>
  Effect.gen(function*() {
    const server = createServer()
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const ended = yield* Deferred.make<void>()
    const end = () => Deferred.unsafeDone(ended, Exit.void)
    process.stdin.once("end", end)
    process.stdin.once("close", end)
    server.onclose = end
    server.onerror = (error) => void runFork(Effect.logWarning(`stdio: ${error.message}`))
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(new StdioTransport())).pipe(Effect.tap(() => connected.add(server))),
      () => Effect.promise(() => server.close()).pipe(Effect.ensuring(Effect.sync(() => connected.delete(server))))
    )
    yield* Effect.logInfo("serving MCP over stdio")
    yield* Deferred.await(ended)
  })
