// The API token never leaves the process: not in logs (even at debug level), not in MCP log
// notifications, not in tool results or errors, not in the command line.
import { type CallToolResult, LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { type Connected, connectStdio } from "./harness.js"

const TOKEN = "tok-SECRET-4b1f0c9de7a24f61b8e3"

/** Everything a client saw from one server: tool results, resource and prompt answers, errors, log notifications. */
const observe = (server: Connected) => {
  const seen: Array<string> = []
  server.client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    seen.push(JSON.stringify(notification))
  })
  const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => {
    const result = (await server.client.callTool({ name, arguments: args })) as CallToolResult
    seen.push(JSON.stringify(result))
    return result
  }
  const settle = async (request: Promise<unknown>) => {
    try {
      seen.push(JSON.stringify(await request))
    } catch (error) {
      seen.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
    }
  }
  return { seen, call, settle }
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")

describe("a server with a token", () => {
  let fake: FakeContreeApi
  let rejecting: FakeContreeApi
  let server: Connected
  let unauthorized: Connected

  beforeAll(async () => {
    fake = await startFakeContreeApi({ token: TOKEN, pendingMs: 10, executingMs: 10 })
    // Started with a different token, so it answers every request with 401.
    rejecting = await startFakeContreeApi({ token: "a-different-token" })
    server = await connectStdio({ url: fake.url, token: TOKEN, args: ["--log-level", "debug"] })
    unauthorized = await connectStdio({ url: rejecting.url, token: TOKEN, args: ["--log-level", "debug"] })
  })

  afterAll(async () => {
    await server?.close()
    await unauthorized?.close()
    await fake?.close()
    await rejecting?.close()
  })

  it("does not reveal it, whatever the tools do", async () => {
    const { seen, call, settle } = observe(server)
    await server.client.setLoggingLevel("debug")

    expect((await call("contree_list_images", {})).isError).toBeFalsy()
    const run = await call("contree_run", { command: "echo $HOME; env; exit 4", image: "tag:busybox:latest", disposable: false })
    expect(run.isError).toBeFalsy()
    const runView = run.structuredContent as { operation_id: string; exit_code: number; result_image: string }
    expect(runView.exit_code).toBe(4)
    expect((await call("contree_upload", { content: "secret-free content" })).isError).toBeFalsy()
    expect((await call("contree_get_operation", { operation_id: runView.operation_id })).isError).toBeFalsy()
    expect((await call("contree_list_operations", {})).isError).toBeFalsy()

    // 404s
    expect((await call("contree_read_file", { image: "tag:busybox:latest", path: "/nope" })).isError).toBe(true)
    expect((await call("contree_get_image", { image: "tag:no/such:tag" })).isError).toBe(true)
    expect((await call("contree_get_operation", { operation_id: "00000000-0000-0000-0000-000000000000" })).isError).toBe(true)
    // 500s: a retried GET that then succeeds, and a POST that is not retried.
    fake.injectFault({ method: "GET", path: "/images", status: 500, times: 1 })
    expect((await call("contree_list_images", {})).isError).toBeFalsy()
    fake.injectFault({ method: "POST", path: "/instances", status: 500, body: { error: "boom" } })
    const failed = await call("contree_run", { command: "true", image: "tag:busybox:latest" })
    expect(failed.isError).toBe(true)
    // A 401 that the fault injector sends back, echoing a header-like body.
    fake.injectFault({ method: "GET", path: "/images", status: 401, body: { error: "token rejected" } })
    expect((await call("contree_list_images", {})).isError).toBe(true)
    // Bad input
    expect((await call("contree_run", { command: "true", image: "not-an-image" })).isError).toBe(true)
    expect((await call("contree_download", { image: "tag:busybox:latest", path: "/etc/passwd", destination: "rel" })).isError).toBe(true)
    // Resources and prompts, including failing ones
    await settle(server.client.readResource({ uri: `contree://image/${runView.result_image}/lineage` }))
    await settle(server.client.readResource({ uri: "contree://image/tag%3Abusybox%3Alatest/read/etc/missing" }))
    await settle(server.client.readResource({ uri: `contree://operations/import/${runView.operation_id}` }))
    await settle(server.client.getPrompt({ name: "debug-failure", arguments: {} }))

    // The calls really used the token, and the server really logged at debug level.
    const authorizations = new Set(fake.requests.map((r) => r.headers["authorization"]))
    expect(authorizations).toEqual(new Set([`Bearer ${TOKEN}`]))
    expect(fake.requests.length).toBeGreaterThan(10)
    expect(server.stderr()).toContain("[DEBUG]")
    expect(seen.length).toBeGreaterThan(15)

    for (const text of seen) expect(text).not.toContain(TOKEN)
    expect(server.stderr()).not.toContain(TOKEN)
    expect(cmdline(server.pid)).toContain("bin.js")
    expect(cmdline(server.pid)).not.toContain(TOKEN)
  })

  it("does not reveal it when the API rejects it with 401", async () => {
    const { seen, call, settle } = observe(unauthorized)
    await unauthorized.client.setLoggingLevel("debug")
    const listed = await call("contree_list_images", {})
    expect(listed.isError).toBe(true)
    expect(JSON.stringify(listed.content)).toContain("401")
    expect((await call("contree_run", { command: "true", image: "tag:busybox:latest" })).isError).toBe(true)
    expect((await call("contree_upload", { content: "x" })).isError).toBe(true)
    await settle(unauthorized.client.readResource({ uri: "contree://image/tag%3Abusybox%3Alatest/ls/." }))

    expect(rejecting.requests.length).toBeGreaterThanOrEqual(3)
    expect(rejecting.requests.every((r) => r.headers["authorization"] === `Bearer ${TOKEN}`)).toBe(true)
    for (const text of seen) expect(text).not.toContain(TOKEN)
    expect(unauthorized.stderr()).toContain("[DEBUG]")
    expect(unauthorized.stderr()).not.toContain(TOKEN)
    expect(cmdline(unauthorized.pid)).not.toContain(TOKEN)
  })
})

describe("a cloud server without a token", () => {
  let fake: FakeContreeApi
  let server: Connected

  beforeAll(async () => {
    fake = await startFakeContreeApi()
    // Without a token the local backend is the default; the cloud must be asked for.
    server = await connectStdio({ url: fake.url, args: ["--backend", "cloud"] })
  })

  afterAll(async () => {
    await server?.close()
    await fake?.close()
  })

  it("answers tools that need the API with how to configure a token, without calling the API", async () => {
    for (const [name, args] of [
      ["contree_list_images", {}],
      ["contree_run", { command: "true", image: "tag:busybox:latest" }],
      ["contree_get_operation", { operation_id: "00000000-0000-0000-0000-000000000000" }]
    ] as const) {
      const result = (await server.client.callTool({ name, arguments: args })) as CallToolResult
      expect(result.isError).toBe(true)
      const text = JSON.stringify(result.content)
      expect(text).toContain("mcp.ini")
      expect(text).toContain("CONTREE_MCP_TOKEN")
    }
    expect(fake.requests).toHaveLength(0)
    expect(server.stderr()).toMatch(/no ConTree token is configured.*mcp\.ini/)
  })

  it("still serves what needs no API", async () => {
    const result = (await server.client.callTool({ name: "contree_get_guide", arguments: { section: "quickstart" } })) as CallToolResult
    expect(result.isError).toBeFalsy()
  })
})
