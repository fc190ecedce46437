import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { makeHostGuard } from "../http/HostGuard.js"
import { version, serverName } from "../version.js"
import { renderDocsPage } from "./DocsPage.js"
import { makeHttpSessions } from "./HttpSessions.js"
import { MAX_MESSAGE_BYTES, MessageSkimmer, oversizedReply, oversizedText, type Skimmed } from "./Oversized.js"
import type { Registry } from "./Registry.js"

export interface HttpOptions {
  readonly listen: string
  readonly port: number
}

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
}

const rpcError = (res: ServerResponse, status: number, message: string, code = -32000) =>
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message }, id: null })

type Body =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Oversized"; readonly skimmed: Skimmed }

/** A request body as JSON; one over the message limit is skimmed to its end, never kept, so it can be answered. */
const readBody = (req: IncomingMessage): Promise<Body> =>
  new Promise((resolve, reject) => {
    let chunks: Array<Buffer> = []
    let size = 0
    let skimmer: MessageSkimmer | undefined
    req.on("data", (chunk: Buffer) => {
      if (skimmer === undefined && size + chunk.length > MAX_MESSAGE_BYTES) {
        skimmer = new MessageSkimmer()
        for (const kept of chunks) skimmer.feed(kept)
        chunks = []
      }
      if (skimmer !== undefined) skimmer.feed(chunk)
      else {
        chunks.push(chunk)
        size += chunk.length
      }
    })
    req.on("end", () => {
      if (skimmer !== undefined) return resolve({ _tag: "Oversized", skimmed: skimmer.result() })
      try {
        resolve({ _tag: "Json", value: JSON.parse(Buffer.concat(chunks).toString("utf8")) })
      } catch {
        reject(new ParseError())
      }
    })
    req.on("error", reject)
  })

class ParseError extends Error {
  constructor() {
    super("Parse error: the request body is not valid JSON")
  }
}

/** An oversized request's answer: a tool result for contree_upload, else 413 with a JSON-RPC error. */
const refuseOversized = (res: ServerResponse, skimmed: Skimmed) => {
  const reply = oversizedReply(skimmed, MAX_MESSAGE_BYTES)
  if (reply !== undefined && "result" in reply) return sendJson(res, 200, reply)
  sendJson(res, 413, reply ?? { jsonrpc: "2.0", error: { code: -32600, message: oversizedText(skimmed, MAX_MESSAGE_BYTES) } })
}

/**
 * Streamable HTTP at `/mcp` (one MCP server per session, all sharing the runtime) and a generated
 * documentation page at `/`. Listens on 127.0.0.1 unless told otherwise.
 */
export const serveHttp = (createServer: () => Server, registry: Registry, options: HttpOptions, connected: Set<Server>) =>
  Effect.gen(function*() {
    const sessions = makeHttpSessions<StreamableHTTPServerTransport>()
    const guard = makeHostGuard(options.listen)
    let docsPage = ""

    const startSession = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
      const server = createServer()
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          sessions.add(id, transport)
          sessions.track(id, res)
        }
      })
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.remove(transport.sessionId)
        connected.delete(server)
      }
      await server.connect(transport)
      connected.add(server)
      await transport.handleRequest(req, res, body)
    }

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      if (!guard({ host: req.headers.host, origin: req.headers.origin })) return rpcError(res, 403, "Forbidden: Host or Origin is not a loopback address of this server")
      const path = new URL(req.url ?? "/", "http://localhost").pathname
      if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(req.method === "GET" ? docsPage : undefined)
        return
      }
      if (path !== "/mcp") return sendJson(res, 404, { error: "Not found: the MCP endpoint is /mcp, documentation is at /" })
      const sessionId = req.headers["mcp-session-id"]
      if (typeof sessionId === "string") {
        const transport = sessions.get(sessionId)
        if (transport === undefined) return rpcError(res, 404, "Session not found; start a new one with initialize")
        sessions.track(sessionId, res)
        if (req.method !== "POST") return transport.handleRequest(req, res)
        const body = await readBody(req)
        if (body._tag === "Oversized") return refuseOversized(res, body.skimmed)
        return transport.handleRequest(req, res, body.value)
      }
      if (req.method !== "POST") return rpcError(res, 400, "Bad Request: no session; send initialize first")
      const body = await readBody(req)
      if (body._tag === "Oversized") return refuseOversized(res, body.skimmed)
      if (!isInitializeRequest(body.value)) return rpcError(res, 400, "Bad Request: no session; send initialize first")
      return startSession(req, res, body.value)
    }

    const http = createHttpServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          rpcError(res, 400, error instanceof Error ? error.message : "Bad Request", error instanceof ParseError ? -32700 : -32000)
        }
      })
    })

    const address = yield* Effect.acquireRelease(
      Effect.async<AddressInfo, Error>((resume) => {
        http.once("error", (error) => resume(Effect.fail(error)))
        http.listen(options.port, options.listen, () => resume(Effect.succeed(http.address() as AddressInfo)))
      }),
      () =>
        Effect.promise(async () => {
          await sessions.closeAll()
          http.closeAllConnections()
          await new Promise((resolve) => http.close(resolve))
        })
    )
    yield* Effect.promise(() => sessions.sweep()).pipe(
      Effect.repeat(Schedule.spaced(Duration.minutes(1))),
      Effect.forkScoped
    )
    const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address
    const mcpUrl = `http://${shownHost}:${address.port}/mcp`
    docsPage = renderDocsPage({
      serverName,
      version,
      mcpUrl,
      instructions: registry.instructions,
      tools: registry.tools,
      resourceTemplates: registry.resourceTemplates,
      resources: yield* Effect.forEach(registry.resources, (resource) =>
        resource.read.pipe(
          Effect.orElseSucceed(() => ""),
          Effect.map((content) => ({ uri: resource.uri, name: resource.name, title: resource.title, content }))
        )),
      prompts: registry.prompts
    })
    // Not a log line: the address to give clients is printed at every log level.
    yield* Effect.sync(() =>
      process.stderr.write(`contree-mcp: MCP at ${mcpUrl}, documentation at http://${shownHost}:${address.port}/\n`)
    )
    return yield* Effect.never
  })
