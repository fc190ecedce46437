import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "vitest"
import { PassThrough } from "node:stream"
import { MessageSkimmer, oversizedReply } from "../../src/mcp/Oversized.js"
import { StdioTransport } from "../../src/mcp/StdioTransport.js"

const skim = (text: string, pieceSize = text.length) => {
  const skimmer = new MessageSkimmer()
  const bytes = Buffer.from(text, "utf8")
  for (let i = 0; i < bytes.length; i += pieceSize) skimmer.feed(bytes.subarray(i, i + pieceSize))
  return skimmer.result()
}

const upload = (id: unknown, data: string) =>
  JSON.stringify({ method: "tools/call", params: { name: "contree_upload", arguments: { content_base64: data } }, jsonrpc: "2.0", id })

describe("MessageSkimmer", () => {
  it("finds the id at the end, the method, the tool and the argument keys, in any pieces", () => {
    const text = upload(7, "QUJD".repeat(1000))
    for (const pieceSize of [1, 3, 64, text.length]) {
      expect(skim(text, pieceSize)).toEqual({
        bytes: Buffer.byteLength(text),
        id: 7,
        method: "tools/call",
        tool: "contree_upload",
        argumentKeys: ["content_base64"]
      })
    }
  })

  it("is not misled by keys, quotes and brackets inside strings or nested objects", () => {
    const text = JSON.stringify({
      jsonrpc: "2.0",
      params: { arguments: { command: "echo '\"id\": 9, }]{ \\\\'", env: { id: "x", method: "y" } }, name: "contree_run" },
      id: "req-\"1\"",
      method: "tools/call"
    })
    const skimmed = skim(text, 5)
    expect(skimmed).toMatchObject({ id: "req-\"1\"", method: "tools/call", tool: "contree_run", argumentKeys: ["command", "env"] })
  })

  it("finds no id in a notification", () => {
    expect(skim(JSON.stringify({ jsonrpc: "2.0", method: "notifications/x", params: { id: 3 } }))).toMatchObject({ id: undefined, method: "notifications/x" })
  })
})

describe("oversizedReply", () => {
  const limit = 10 * 1024 * 1024
  it("answers an upload with a tool error that names content_base64, the limit and path", () => {
    const reply = oversizedReply(skim(upload(3, "AAAA")), limit) as unknown as { id: number; result: { isError: boolean; content: Array<{ text: string }> } }
    expect(reply.id).toBe(3)
    expect(reply.result.isError).toBe(true)
    expect(reply.result.content[0]!.text).toMatch(/^content_base64 is too large.*10\.0 MiB.*path/)
  })

  it("answers any other request with a JSON-RPC error, and a notification not at all", () => {
    const run = JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "contree_run", arguments: {} } })
    expect(oversizedReply(skim(run), limit)).toMatchObject({ id: 4, error: { code: -32600 } })
    expect(oversizedReply(skim(JSON.stringify({ jsonrpc: "2.0", method: "notifications/x" })), limit)).toBeUndefined()
  })
})

const connect = (limit: number) => {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const transport = new StdioTransport(stdin, stdout, limit)
  const received: Array<JSONRPCMessage> = []
  const errors: Array<string> = []
  const sent: Array<Record<string, any>> = []
  let pending = ""
  stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8")
    const lines = pending.split("\n")
    pending = lines.pop()!
    for (const line of lines) sent.push(JSON.parse(line))
  })
  transport.onmessage = (message) => received.push(message)
  transport.onerror = (error) => errors.push(error.message)
  let closed = false
  transport.onclose = () => (closed = true)
  return { stdin, transport, received, errors, sent, isClosed: () => closed }
}

const ping = (id: number) => `${JSON.stringify({ jsonrpc: "2.0", id, method: "ping" })}\n`
const settle = () => new Promise((resolve) => setImmediate(resolve))

describe("StdioTransport", () => {
  it("answers a line over the limit with an error and goes on reading", async () => {
    const t = connect(1000)
    await t.transport.start()
    const big = upload(2, "A".repeat(5000))
    t.stdin.write(ping(1) + big.slice(0, 700))
    t.stdin.write(big.slice(700, 3000))
    t.stdin.write(`${big.slice(3000)}\n${ping(3)}`)
    await settle()
    expect(t.received.map((m) => (m as { id: number }).id)).toEqual([1, 3])
    expect(t.sent).toHaveLength(1)
    expect(t.sent[0]).toMatchObject({ id: 2, result: { isError: true } })
    expect(t.sent[0]!.result.content[0].text).toContain("content_base64")
    expect(t.errors).toHaveLength(1)
    expect(t.isClosed()).toBe(false)
  })

  it("delivers a message just under the limit, split across chunks, with a CRLF ending", async () => {
    const t = connect(200)
    await t.transport.start()
    const line = JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "x", arguments: { a: "b".repeat(100) } } })
    expect(line.length).toBeLessThanOrEqual(200)
    t.stdin.write(line.slice(0, 50))
    t.stdin.write(`${line.slice(50)}\r\n`)
    await settle()
    expect(t.received).toEqual([JSON.parse(line)])
    expect(t.sent).toEqual([])
  })

  it("answers a line that is not JSON-RPC with a parse error and goes on", async () => {
    const t = connect(1000)
    await t.transport.start()
    t.stdin.write(`{not json\n\n${ping(6)}`)
    await settle()
    expect(t.sent).toEqual([{ jsonrpc: "2.0", error: { code: -32700, message: expect.stringContaining("Parse error") } }])
    expect(t.received).toEqual([{ jsonrpc: "2.0", id: 6, method: "ping" }])
  })
})
