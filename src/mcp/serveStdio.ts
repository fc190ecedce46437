import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { Deferred, Effect, Exit } from "effect"

/**
 * Serves one MCP session over stdin/stdout until the client closes stdin. The SDK transport does
 * not watch for end-of-input itself, and a server that outlived its client would linger as an orphan.
 */
export const serveStdio = (createServer: () => Server, connected: Set<Server>) =>
  Effect.gen(function*() {
    const server = createServer()
    const ended = yield* Deferred.make<void>()
    const end = () => Deferred.unsafeDone(ended, Exit.void)
    process.stdin.once("end", end)
    process.stdin.once("close", end)
    server.onclose = end
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(new StdioServerTransport())).pipe(Effect.tap(() => connected.add(server))),
      () => Effect.promise(() => server.close()).pipe(Effect.ensuring(Effect.sync(() => connected.delete(server))))
    )
    yield* Effect.logInfo("serving MCP over stdio")
    yield* Deferred.await(ended)
  })
