// HTTP mode: streamable HTTP at /mcp, the docs page at /, and the DNS-rebinding guard.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { request as httpRequest } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callOk, connectHttp, startHttpServer, waitFor, toolNames } from "./harness.js"


const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
})

/** A raw request, so that Host and Origin can be anything (fetch would not let us set Host). */
const rawPost = (baseUrl: string, headers: Record<string, string>) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(`${baseUrl}/mcp`)
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }
      },
      (res) => {
        let body = ""
        res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      }
    )
    req.on("error", reject)
    req.end(initialize)
  })

let fake: FakeContreeApi
let http: Awaited<ReturnType<typeof startHttpServer>>
const clients: Array<Client> = []

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
  http = await startHttpServer({ url: fake.url, token: fake.token })
})

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()))
  await http?.stop()
  await fake?.close()
})

const connect = async () => {
  const client = await connectHttp(http.baseUrl)
  clients.push(client)
  return client
}

describe("MCP over streamable HTTP", () => {
  it("lists the tools and runs a command against the API", async () => {
    const client = await connect()
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual([...toolNames].sort())
    const result = await callOk(client, "contree_run", { command: "echo over http; hostname", image: "tag:busybox:latest" })
    expect(result).toMatchObject({ status: "SUCCESS", exit_code: 0, stdout: "over http\nlinuxkit\n" })
    expect(fake.state.operations.get(result.operation_id)?.status).toBe("SUCCESS")
  })

  it("serves two sessions at once", async () => {
    const [first, second] = await Promise.all([connect(), connect()])
    // Session one waits on a run that only ends when session two cancels it.
    const command = "sleep 30; echo first"
    const waiting = callOk(first!, "contree_run", { command, image: "tag:busybox:latest" })
    const op = await waitFor("session one's run to be EXECUTING on the fake", () =>
      [...fake.state.operations.values()].find((o) => "command" in o.metadata && o.metadata.command === command && o.status === "EXECUTING"))

    const quick = await callOk(second!, "contree_run", { command: "echo second", image: "tag:busybox:latest" })
    expect(quick.stdout).toBe("second\n")
    expect(op.status).toBe("EXECUTING")

    const cancelled = await callOk(second!, "contree_cancel_operation", { operation_id: op.uuid })
    expect(cancelled.cancelled).toBe(true)
    expect(await waiting).toMatchObject({ operation_id: op.uuid, status: "CANCELLED" })
    // Each session still works on its own afterwards.
    expect((await callOk(first!, "contree_get_guide", { section: "async" })).section).toBe("async")
    expect((await callOk(second!, "contree_get_guide", { section: "state" })).section).toBe("state")
  })
})

describe("plain HTTP", () => {
  it("serves the documentation page at /", async () => {
    const response = await fetch(`${http.baseUrl}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/html/)
    const html = await response.text()
    expect(html).toContain("ConTree MCP Server")
    for (const name of toolNames) expect(html).toContain(name)
    expect(html).toContain(`${http.baseUrl}/mcp`)
  })

  it("answers an unknown path with 404", async () => {
    const response = await fetch(`${http.baseUrl}/unknown`)
    expect(response.status).toBe(404)
  })

  it("accepts a loopback Host and Origin", async () => {
    const port = new URL(http.baseUrl).port
    const response = await rawPost(http.baseUrl, { host: `localhost:${port}`, origin: `http://localhost:${port}` })
    expect(response.status).toBe(200)
  })

  it("refuses a foreign Host with 403", async () => {
    const response = await rawPost(http.baseUrl, { host: "evil.example:1234" })
    expect(response.status).toBe(403)
    expect(response.body).toContain("Forbidden")
  })

  it("refuses a foreign Origin with 403", async () => {
    const port = new URL(http.baseUrl).port
    const response = await rawPost(http.baseUrl, { host: `127.0.0.1:${port}`, origin: "http://evil.example" })
    expect(response.status).toBe(403)
  })
})
