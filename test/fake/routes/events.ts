/**
 * `GET /operations/{id}/events` (spec §1.5): Server-Sent Events with ids. Without `follow` the
 * retained log is replayed and the stream ends; with it, new events follow until `completion`,
 * with `: keepalive` comments in between. `Last-Event-Id` (or `since`) resumes after an id.
 * 425 "events are not ready yet" while the operation is still pending; `sse_error` injected on demand.
 */
import type { ServerResponse } from "node:http"
import { operationEvents } from "../../../src/api/HandWrittenRoutes.js"
import type { FakeEvent } from "../types.js"
import type { FakeStore } from "../FakeStore.js"
import { ApiError, type ApiRequest, errorReply, type Reply } from "../http.js"
import { type Route, route } from "../routing.js"

export interface EventOptions {
  /** Between keepalive comments while following; default 15000. */
  readonly keepaliveMs: number
  /** Breaks the next streams with an `sse_error` frame after this many events; see `FakeContreeApi.breakEventStreams`. */
  readonly takeBreak: () => number | undefined
}

const frame = (event: FakeEvent) =>
  `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ id: event.id, ts: event.ts, spid: event.spid, type: event.type, data: event.data })}\n\n`

const resumeAfter = (request: ApiRequest): number => {
  const header = request.headers?.["last-event-id"]
  const value = Number(Array.isArray(header) ? header[0] : header ?? request.query.since ?? 0)
  return Number.isFinite(value) ? value : 0
}

const write = (response: ServerResponse, text: string) => {
  if (!response.destroyed) response.write(text)
}

export const eventRoutes = (store: FakeStore, options: EventOptions): Route[] => [
  route(operationEvents, (request, { uuid = "" }): Reply => {
    const operation = store.operations.get(uuid)
    if (operation === undefined) throw new ApiError(404, "Operation not found")
    if (operation.status === "PENDING" && operation.events.events.length === 0) {
      return { ...errorReply(425, "events are not ready yet"), headers: { "content-type": "application/json", "retry-after": "0" } }
    }
    const follow = request.query.follow !== undefined
    const breakAfter = options.takeBreak()
    const log = operation.events
    return {
      status: 200,
      headers: { "content-type": operationEvents.contentType, "cache-control": "no-cache" },
      body: Buffer.alloc(0),
      stream: (response) =>
        new Promise<void>((resolve) => {
          let next = resumeAfter(request)
          let sent = 0
          let ended = false
          const end = () => {
            if (ended) return
            ended = true
            unsubscribe()
            clearInterval(keepalive)
            if (!response.destroyed) response.end()
            resolve()
          }
          const flush = () => {
            for (const event of log.events) {
              if (ended || event.id <= next) continue
              if (breakAfter !== undefined && sent >= breakAfter) {
                write(response, ": stream broken\nevent: sse_error\ndata: injected stream failure\n\n")
                return end()
              }
              write(response, frame(event))
              next = event.id
              sent++
            }
            if (!follow || log.completed) end()
          }
          const unsubscribe = log.subscribe(flush)
          const keepalive = setInterval(() => write(response, ": keepalive\n\n"), options.keepaliveMs)
          response.once("close", end)
          write(response, ": connected\n\n")
          flush()
        })
    }
  })
]
