import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js"
import type { Readable, Writable } from "node:stream"
import { MAX_MESSAGE_BYTES, MessageSkimmer, oversizedReply, oversizedText } from "./Oversized.js"

const NEWLINE = 0x0a

/**
 * MCP over newline-delimited JSON on stdin/stdout. Unlike the SDK's transport, which closes (and so
 * ends the server) on a line over its buffer limit, a line over `limit` is skimmed without being
 * kept and answered with an error; a line that is not a JSON-RPC message gets a parse error. Either
 * way the session goes on.
 */
export class StdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  private pieces: Array<Buffer> = []
  private size = 0
  private skimmer: MessageSkimmer | undefined
  private started = false

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    private readonly limit: number = MAX_MESSAGE_BYTES
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error("StdioTransport already started")
    this.started = true
    this.stdin.on("data", this.onData)
    this.stdin.on("error", this.onStreamError)
  }

  async close(): Promise<void> {
    this.stdin.off("data", this.onData)
    this.stdin.off("error", this.onStreamError)
    if (this.stdin.listenerCount("data") === 0) this.stdin.pause()
    this.pieces = []
    this.size = 0
    this.skimmer = undefined
    this.onclose?.()
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve()
      else this.stdout.once("drain", resolve)
    })
  }

  private readonly onStreamError = (error: Error) => this.onerror?.(error)

  private readonly onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk
    let start = 0
    while (start < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start)
      this.take(bytes.subarray(start, newline === -1 ? bytes.length : newline))
      if (newline === -1) return
      this.endLine()
      start = newline + 1
    }
  }

  /** Keeps a piece of the current line, or skims it once the line is over the limit. */
  private take(piece: Buffer): void {
    if (this.skimmer === undefined && this.size + piece.length > this.limit) {
      this.skimmer = new MessageSkimmer()
      for (const kept of this.pieces) this.skimmer.feed(kept)
      this.pieces = []
      this.size = 0
    }
    if (this.skimmer !== undefined) this.skimmer.feed(piece)
    else if (piece.length > 0) {
      this.pieces.push(piece)
      this.size += piece.length
    }
  }

  private endLine(): void {
    const skimmer = this.skimmer
    this.skimmer = undefined
    if (skimmer !== undefined) return this.refuse(skimmer)
    const line = Buffer.concat(this.pieces, this.size).toString("utf8").replace(/\r$/, "")
    this.pieces = []
    this.size = 0
    if (line.trim() === "") return
    let message: JSONRPCMessage
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(line))
    } catch (error) {
      this.onerror?.(new Error(`a line on stdin is not a JSON-RPC message: ${error instanceof Error ? error.message : String(error)}`))
      void this.send({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error: the line is not a JSON-RPC message" } } as JSONRPCMessage)
      return
    }
    this.onmessage?.(message)
  }

  private refuse(skimmer: MessageSkimmer): void {
    const skimmed = skimmer.result()
    this.onerror?.(new Error(oversizedText(skimmed, this.limit)))
    const reply = oversizedReply(skimmed, this.limit)
    if (reply !== undefined) void this.send(reply)
  }
}
