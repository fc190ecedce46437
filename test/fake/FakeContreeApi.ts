/**
 * An in-process fake of the ConTree REST API v1 (spec: /work/shared/spec/contree-api.md §6) for
 * tests and benchmarks. It serves real HTTP on 127.0.0.1, keeps all state in memory, and runs
 * commands with a small deterministic shell interpreter instead of real sandboxes. Its routes are
 * the endpoints of the API's one definition, `src/api/ContreeApi.ts` (see `routing.ts`).
 */
import { type IncomingMessage, type ServerResponse, createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { setTimeout as delay } from "node:timers/promises"
import { type FileSpec, buildTree, emptyTree } from "./buildTree.js"
import { FakeStore } from "./FakeStore.js"
import { type Reply, errorReply, readBody, sendReply } from "./http.js"
import { eventRoutes } from "./routes/events.js"
import { fileRoutes } from "./routes/files.js"
import { imageRoutes, isValidTag } from "./routes/images.js"
import { inspectRoutes } from "./routes/inspect.js"
import { operationRoutes } from "./routes/operations.js"
import { searchRoutes } from "./routes/search.js"
import { whoamiRoutes } from "./routes/whoami.js"
import { makeDispatcher } from "./routing.js"
import type { FakeImage, FakeOperation, FakeUploadedFile, Generation } from "./types.js"

export type { FileSpec } from "./buildTree.js"
export type {
  FakeImage,
  FakeOperation,
  FakeUploadedFile,
  Generation,
  ImportMetadata,
  InstanceMetadata,
  OperationKind,
  OperationStatus
} from "./types.js"

export interface FakeContreeApiOptions {
  /** Required as `Authorization: Bearer <token>`; default "test-token". */
  token?: string
  /** How long an operation stays PENDING; default 20. */
  pendingMs?: number
  /** Minimum time in EXECUTING before a terminal status; default 20. */
  executingMs?: number
  /** Gzip every response body (Content-Encoding: gzip), as the real service does; default false. */
  gzip?: boolean
  /** Default 0 (ephemeral). The server always listens on 127.0.0.1. */
  port?: number
  /** Which generation of the API it speaks (see `generation.ts`); default "both". */
  generation?: Generation
  /** Between `: keepalive` comments of a followed event stream; default 15000. */
  keepaliveMs?: number
}

/** Replaces the response of the next `times` matching requests (matched before authentication). */
export interface FakeFault {
  /** Case-insensitive; any method when absent. */
  method?: string
  /** Compared with the path after `/v1` (no query): a string must be equal, a RegExp must match. */
  path?: string | RegExp
  /** Default 1. */
  times?: number
  status: number
  /** Objects are sent as JSON, strings and Buffers raw; default `{"error": "injected fault", "status"}`. */
  body?: unknown
  headers?: Record<string, string>
  /** Wait this long before answering (or dropping). */
  delayMs?: number
  /** Destroy the socket instead of answering. */
  dropConnection?: boolean
}

export interface RecordedRequest {
  method: string
  /** The full request path, `/v1` included, without the query. */
  path: string
  query: Record<string, string>
  headers: Record<string, string | string[] | undefined>
  bodyBytes: number
  /** Present when the request declared a JSON content type and its body parsed. */
  json?: unknown
}

export interface AddImageOptions {
  tag?: string
  /** Path → content; keys ending in `/` are directories. Parents are created implicitly. */
  files?: Record<string, FileSpec>
  /** Start from this image's filesystem instead of an empty root. */
  parent?: string
}

export interface FakeContreeApi {
  /** Service URL without `/v1`, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly token: string
  /** Every request received, in order. Cleared by `reset()`. */
  readonly requests: RecordedRequest[]
  injectFault(fault: FakeFault): void
  clearFaults(): void
  /** The next `times` event streams send `afterEvents` events, then an `sse_error` frame, and end. */
  breakEventStreams(times?: number, afterEvents?: number): void
  /** Adds an image directly (no operation) and returns its uuid. */
  addImage(options: AddImageOptions): string
  readonly state: {
    readonly images: Map<string, FakeImage>
    readonly operations: Map<string, FakeOperation>
    readonly files: Map<string, FakeUploadedFile>
  }
  /** Aborts running operations, forgets everything and restores the seeded images. */
  reset(): void
  close(): Promise<void>
}

interface ActiveFault {
  readonly fault: FakeFault
  remaining: number
}

const faultMatches = (fault: FakeFault, method: string, path: string): boolean =>
  (fault.method === undefined || fault.method.toUpperCase() === method) &&
  (fault.path === undefined || (typeof fault.path === "string" ? fault.path === path : path.search(fault.path) !== -1))

const faultReply = (fault: FakeFault): Reply => {
  const { status, body } = fault
  const raw = typeof body === "string" || Buffer.isBuffer(body)
  return {
    status,
    headers: { "content-type": raw ? "text/plain" : "application/json", ...fault.headers },
    body: raw ? Buffer.from(body) : Buffer.from(JSON.stringify(body ?? { error: "injected fault", status }))
  }
}

const parseJson = (request: IncomingMessage, body: Buffer): { json?: unknown } => {
  if (body.length === 0 || !(request.headers["content-type"] ?? "").includes("json")) return {}
  try {
    return { json: JSON.parse(body.toString("utf8")) as unknown }
  } catch {
    return {}
  }
}

export const startFakeContreeApi = async (options: FakeContreeApiOptions = {}): Promise<FakeContreeApi> => {
  const token = options.token ?? "test-token"
  const gzip = options.gzip ?? false
  const timing = { pendingMs: options.pendingMs ?? 20, executingMs: options.executingMs ?? 20 }
  const store = new FakeStore()
  const requests: RecordedRequest[] = []
  let faults: ActiveFault[] = []
  const generation = options.generation ?? "both"
  const streamBreaks: number[] = []
  const current = generation !== "legacy"
  const dispatch = makeDispatcher([
    ...imageRoutes(store, timing),
    ...inspectRoutes(store),
    ...(current ? searchRoutes(store) : []),
    ...fileRoutes(store, generation),
    ...(current ? eventRoutes(store, { keepaliveMs: options.keepaliveMs ?? 15_000, takeBreak: () => streamBreaks.shift() }) : []),
    ...operationRoutes(store, timing, generation),
    ...whoamiRoutes(token, store)
  ])

  const takeFault = (method: string, path: string): FakeFault | undefined => {
    const active = faults.find((candidate) => faultMatches(candidate.fault, method, path))
    if (active === undefined) return undefined
    if (--active.remaining <= 0) faults = faults.filter((candidate) => candidate !== active)
    return active.fault
  }

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request)
    const method = (request.method ?? "GET").toUpperCase()
    const url = new URL(request.url ?? "/", "http://fake")
    const query = Object.fromEntries(url.searchParams)
    requests.push({
      method,
      path: url.pathname,
      query,
      headers: { ...request.headers },
      bodyBytes: body.length,
      ...parseJson(request, body)
    })
    const apiPath = url.pathname === "/v1" || url.pathname.startsWith("/v1/") ? url.pathname.slice(3) : undefined

    const fault = takeFault(method, apiPath ?? url.pathname)
    if (fault !== undefined) {
      if (fault.delayMs !== undefined) await delay(fault.delayMs)
      if (fault.dropConnection) request.socket.destroy()
      else sendReply(response, faultReply(fault), gzip)
      return
    }

    if (request.headers.authorization !== `Bearer ${token}`) {
      sendReply(response, errorReply(401, "missing or invalid bearer token"), gzip)
      return
    }
    const reply =
      apiPath === undefined
        ? errorReply(404, "Not found")
        : await dispatch(method, { path: apiPath, query, body, search: url.searchParams, headers: request.headers })
    sendReply(response, reply, gzip)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) response.destroy()
      else sendReply(response, errorReply(500, error instanceof Error ? error.message : String(error)), gzip)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    injectFault: (fault) => {
      faults.push({ fault, remaining: fault.times ?? 1 })
    },
    clearFaults: () => {
      faults = []
    },
    breakEventStreams: (times = 1, afterEvents = 1) => {
      for (let i = 0; i < times; i++) streamBreaks.push(afterEvents)
    },
    addImage: ({ tag, files = {}, parent }) => {
      if (tag !== undefined && !isValidTag(tag)) throw new Error(`invalid tag: ${tag}`)
      const base = parent === undefined ? emptyTree() : store.images.get(parent)?.tree
      if (base === undefined) throw new Error(`unknown parent image: ${parent}`)
      return store.addImage(buildTree(files, base), { tag: tag ?? null, parent: parent ?? null }).uuid
    },
    state: { images: store.images, operations: store.operations, files: store.files },
    reset: () => {
      store.reset()
      requests.length = 0
      faults = []
    },
    close: async () => {
      store.abortAll()
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
      server.closeAllConnections()
      await closed
    }
  }
}
