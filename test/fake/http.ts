/** HTTP plumbing for the fake: parsed requests, replies, JSON errors, optional gzip. */
import type { IncomingMessage, ServerResponse } from "node:http"
import { gzipSync } from "node:zlib"
import { Schema } from "effect"
import { encodeErrorBody, operationLocation } from "../../src/api/HandWrittenRoutes.js"
import { CreatedOperation } from "../../src/domain/Operation.js"

/** A request as route handlers see it; `path` is relative to `/v1`. */
export interface ApiRequest {
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly body: Buffer
  /** Every query parameter, repeated ones included (`pattern=a&pattern=b`). */
  readonly search?: URLSearchParams
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>
}

export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
  /** A body written over time (the event stream): called after the head, it ends the response itself. */
  readonly stream?: (response: ServerResponse) => Promise<void>
}

/** Thrown by handlers; becomes `{"error": message, "status": status}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

export const jsonReply = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: Buffer.from(JSON.stringify(value))
})

/** The API's one error body (`src/api/HandWrittenRoutes.ts`), encoded. */
export const errorReply = (status: number, message: string): Reply => jsonReply(status, encodeErrorBody(status, message))

/**
 * A JSON reply whose body is encoded with one of the definition's schemas (`src/api/ContreeApi.ts`):
 * a view of the fake's state that has drifted from the wire shape fails here, as a 500.
 */
export const encodedReply = <A, I>(status: number, schema: Schema.Schema<A, I>, value: unknown, headers: Record<string, string> = {}): Reply =>
  jsonReply(status, Schema.encodeUnknownSync(schema)(value), headers)

/** 201 `{uuid}` plus `Location`, for a spawn or an import. */
export const createdReply = (uuid: string): Reply => encodedReply(201, CreatedOperation, { uuid }, { location: operationLocation(uuid) })

export const emptyReply = (status: number, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body: Buffer.alloc(0)
})

export const bytesReply = (body: Buffer, contentType: string): Reply => ({
  status: 200,
  headers: { "content-type": contentType },
  body
})

/** The body of a JSON request; it must be an object. */
export const jsonBody = (request: ApiRequest): Record<string, unknown> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(request.body.toString("utf8"))
  } catch {
    throw new ApiError(400, "request body must be valid JSON")
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, "request body must be a JSON object")
  }
  return parsed as Record<string, unknown>
}

export const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const STATUSES_WITHOUT_BODY = new Set([204, 304])

/** Writes a reply with an exact Content-Length; with `gzip`, every body-capable reply is compressed. */
export const sendReply = (response: ServerResponse, reply: Reply, gzip: boolean): void => {
  if (reply.stream !== undefined) {
    // Streams go uncompressed: the fake's gzip option covers whole bodies only.
    response.writeHead(reply.status, reply.headers)
    reply.stream(response).catch(() => response.destroy())
    return
  }
  const headers: Record<string, string> = { ...reply.headers }
  let body = reply.body
  if (STATUSES_WITHOUT_BODY.has(reply.status)) {
    body = Buffer.alloc(0)
  } else {
    if (gzip) {
      body = gzipSync(body)
      headers["content-encoding"] = "gzip"
    }
    headers["content-length"] = String(body.length)
  }
  response.writeHead(reply.status, headers)
  response.end(body)
}
