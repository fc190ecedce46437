import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js"

/**
 * The most one MCP message may weigh, on stdio and over HTTP (the SDK's stdio default). A larger one
 * is skimmed for its id and method, never kept, and answered with an error; the session goes on.
 */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024

/** What an oversized message was, as far as a constant-memory read of it could tell. */
export interface Skimmed {
  readonly bytes: number
  readonly id: RequestId | undefined
  readonly method: string | undefined
  /** `params.name`: the tool of a tools/call. */
  readonly tool: string | undefined
  /** The keys of `params.arguments`. */
  readonly argumentKeys: ReadonlyArray<string>
}

interface Frame {
  readonly object: boolean
  /** The key this container has in its parent object. */
  readonly at: string | undefined
  key: string | undefined
  expectKey: boolean
}

const CAPTURE_LIMIT = 256
const QUOTE = 0x22
const BACKSLASH = 0x5c

const decodeString = (raw: string): string | undefined => {
  try {
    return JSON.parse(`"${raw}"`) as string
  } catch {
    return undefined
  }
}

/**
 * Reads a JSON-RPC message in pieces without keeping it: only the top-level `id` and `method`,
 * `params.name` and the keys of `params.arguments` are kept, each at most a few hundred bytes.
 */
export class MessageSkimmer {
  private bytes = 0
  private readonly stack: Array<Frame> = []
  private inString = false
  private escaped = false
  /** The string or scalar being kept, and what it is for. */
  private capture: { kind: "key" | "value"; bytes: Array<number>; over: boolean } | undefined
  private id: RequestId | undefined
  private method: string | undefined
  private tool: string | undefined
  private readonly argumentKeys: Array<string> = []

  feed(chunk: Uint8Array): void {
    this.bytes += chunk.length
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (byte === BACKSLASH) this.escaped = true
        else if (byte === QUOTE) {
          this.inString = false
          this.endCapture()
          continue
        }
        this.keep(byte)
        continue
      }
      switch (byte) {
        case 0x7b: // {
        case 0x5b: { // [
          this.endScalar()
          const parent = this.stack.at(-1)
          this.stack.push({ object: byte === 0x7b, at: parent?.object ? parent.key : undefined, key: undefined, expectKey: byte === 0x7b })
          break
        }
        case 0x7d: // }
        case 0x5d: // ]
          this.endScalar()
          this.stack.pop()
          break
        case 0x2c: { // ,
          this.endScalar()
          const top = this.stack.at(-1)
          if (top?.object) top.expectKey = true
          break
        }
        case 0x3a: { // :
          const top = this.stack.at(-1)
          if (top?.object) top.expectKey = false
          break
        }
        case QUOTE: {
          this.inString = true
          const top = this.stack.at(-1)
          if (top?.object && top.expectKey) this.capture = { kind: "key", bytes: [], over: false }
          else if (this.wanted()) this.capture = { kind: "value", bytes: [], over: false }
          break
        }
        case 0x20:
        case 0x09:
        case 0x0a:
        case 0x0d:
          this.endScalar()
          break
        default:
          // A number, true, false or null.
          if (this.capture === undefined && this.wanted()) this.capture = { kind: "value", bytes: [], over: false }
          this.keep(byte)
      }
    }
  }

  result(): Skimmed {
    this.endScalar()
    return { bytes: this.bytes, id: this.id, method: this.method, tool: this.tool, argumentKeys: this.argumentKeys }
  }

  /** Whether the value starting here is one of those kept. */
  private wanted(): boolean {
    const top = this.stack.at(-1)
    if (top === undefined || !top.object || top.expectKey) return false
    if (this.stack.length === 1) return top.key === "id" || top.key === "method"
    return this.stack.length === 2 && top.at === "params" && top.key === "name"
  }

  private keep(byte: number): void {
    const capture = this.capture
    if (capture === undefined || capture.over) return
    if (capture.bytes.length >= CAPTURE_LIMIT) capture.over = true
    else capture.bytes.push(byte)
  }

  private endScalar(): void {
    if (this.capture !== undefined && !this.inString) this.endCapture(true)
  }

  private endCapture(scalar = false): void {
    const capture = this.capture
    this.capture = undefined
    if (capture === undefined || capture.over) return
    const top = this.stack.at(-1)
    if (top === undefined) return
    const text = Buffer.from(capture.bytes).toString("utf8")
    if (capture.kind === "key") {
      const key = decodeString(text)
      top.key = key
      if (key !== undefined && this.stack.length === 3 && top.at === "arguments" && this.stack[1]?.at === "params") {
        this.argumentKeys.push(key)
      }
      return
    }
    const value = scalar ? Number(text) : decodeString(text)
    if (this.stack.length === 1 && top.key === "id") {
      if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) this.id = value
    } else if (!scalar && typeof value === "string") {
      if (this.stack.length === 1) this.method = value
      else this.tool = value
    }
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** Why the message was refused, in words for the agent. */
export const oversizedText = (skimmed: Skimmed, limit: number): string => {
  const size = `${mib(skimmed.bytes)}, over the limit of ${mib(limit)} for one MCP message`
  if (skimmed.method === "tools/call" && skimmed.tool === "contree_upload") {
    const field = skimmed.argumentKeys.includes("content") && !skimmed.argumentKeys.includes("content_base64")
      ? "content"
      : "content_base64"
    return `${field} is too large: the request was ${size}. Upload a large file with path (a file on the server's ` +
      `machine, streamed from disk with no size limit) instead of ${field}.`
  }
  return `The request${skimmed.method === undefined ? "" : ` (${skimmed.method})`} was ${size}; it was not read. ` +
    `Send less in one call (a large file goes through contree_upload's path or contree_rsync).`
}

/**
 * The answer to an oversized message: a tool error for contree_upload (the agent can act on it), a
 * JSON-RPC error for any other request; none for a notification, which gets no answer.
 */
export const oversizedReply = (skimmed: Skimmed, limit: number): JSONRPCMessage | undefined => {
  const text = oversizedText(skimmed, limit)
  if (skimmed.id === undefined) {
    return skimmed.method === undefined ? { jsonrpc: "2.0", error: { code: -32600, message: text } } as JSONRPCMessage : undefined
  }
  if (skimmed.method === "tools/call" && skimmed.tool === "contree_upload") {
    return { jsonrpc: "2.0", id: skimmed.id, result: { isError: true, content: [{ type: "text", text }] } }
  }
  return { jsonrpc: "2.0", id: skimmed.id, error: { code: -32600, message: text } }
}
