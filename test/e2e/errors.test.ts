// Faults from the API and bad input from the agent: both become tool errors that say what went
// wrong, and the server keeps serving.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callError, callOk, type Connected, connectStdio, resultText } from "./harness.js"

let fake: FakeContreeApi
let server: Connected
let scratch: string
const count = (method: string, path: string) => fake.requests.filter((r) => r.method === method && r.path === path).length

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
  server = await connectStdio({ url: fake.url, token: fake.token })
  scratch = mkdtempSync(join(tmpdir(), "contree-e2e-errors-"))
})

afterAll(async () => {
  await server?.close()
  await fake?.close()
  rmSync(scratch, { recursive: true, force: true })
})

describe("API faults", () => {
  it("retries a GET that failed with 503 and succeeds", async () => {
    const before = count("GET", "/v1/images")
    fake.injectFault({ method: "GET", path: "/images", status: 503, times: 2 })
    const { images } = await callOk(server.client, "contree_list_images")
    expect(images.map((i: { tag: string }) => i.tag)).toContain("busybox:latest")
    expect(count("GET", "/v1/images") - before).toBe(3)
  })

  it("does not retry a POST /instances that failed with 503, and reports the status", async () => {
    const before = count("POST", "/v1/instances")
    const operationsBefore = fake.state.operations.size
    fake.injectFault({ method: "POST", path: "/instances", status: 503, body: { error: "service unavailable" } })
    const error = await callError(server.client, "contree_run", { command: "echo hi", image: "tag:busybox:latest" })
    expect(error).toContain("503")
    expect(error).toContain("service unavailable")
    expect(count("POST", "/v1/instances") - before).toBe(1)
    expect(fake.state.operations.size).toBe(operationsBefore)
  })

  it("reports a 404 from the API as a not-found tool error", async () => {
    const error = await callError(server.client, "contree_read_file", { image: "tag:busybox:latest", path: "/no/such/file" })
    expect(error).toMatch(/not found/i)
    expect(error).toContain("404")
  })
})

describe("bad input", () => {
  const expectNoRequests = async (run: () => Promise<string>): Promise<string> => {
    const before = fake.requests.length
    const message = await run()
    expect(fake.requests.length).toBe(before)
    return message
  }

  it("a malformed image reference", async () => {
    const error = await expectNoRequests(() => callError(server.client, "contree_run", { command: "true", image: "not-an-image" }))
    expect(error).toContain("image: 'not-an-image' is neither an image UUID nor 'tag:NAME'")
  })

  it("an unknown tag", async () => {
    const error = await callError(server.client, "contree_get_image", { image: "tag:e2e/no-such-tag:v0" })
    expect(error).toContain("no image has the tag 'e2e/no-such-tag:v0'")
    expect(error).toContain("contree_list_images")
  })

  it("a relative download destination", async () => {
    const error = await expectNoRequests(() =>
      callError(server.client, "contree_download", { image: "tag:busybox:latest", path: "/etc/passwd", destination: "relative/out.txt" }))
    expect(error).toContain("destination must be an absolute path")
    expect(error).toContain("relative/out.txt")
  })

  it("an unknown guide section", async () => {
    const error = await callError(server.client, "contree_get_guide", { section: "cooking" })
    expect(error).toContain("Unknown guide section 'cooking'")
    expect(error).toContain("async, errors, quickstart, reference, state, tagging, workflow")
  })

  it("a missing required argument", async () => {
    const error = await expectNoRequests(() => callError(server.client, "contree_read_file", { image: "tag:busybox:latest" }))
    expect(error).toContain("contree_read_file")
    expect(error).toMatch(/\bpath\b.*missing/)
  })

  it("a wrong type", async () => {
    const error = await expectNoRequests(() =>
      callError(server.client, "contree_run", { command: "true", image: "tag:busybox:latest", timeout: "abc" }))
    expect(error).toContain('timeout: Expected number, actual "abc"')
    // Not also "Expected undefined": the parameter being optional is not the problem.
    expect(error).not.toContain("undefined")
  })

  it("a wrong type of a nullable parameter, inside an object", async () => {
    const error = await expectNoRequests(() =>
      callError(server.client, "contree_run", { command: "true", image: "tag:busybox:latest", env: { A: 1 } }))
    expect(error).toBe("invalid arguments for contree_run: env.A: Expected string, actual 1")
  })

  it("an unknown argument name", async () => {
    const error = await expectNoRequests(() =>
      callError(server.client, "contree_list_images", { limit: 5, colour: "blue" }))
    expect(error).toContain("colour")
  })

  it("an unknown tool", async () => {
    const result = (await server.client.callTool({ name: "contree_teleport", arguments: {} })) as CallToolResult
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain("contree_teleport")
    expect(resultText(result)).toContain("contree_run")
  })

  it("an upload path that does not exist", async () => {
    const missing = join(scratch, "missing.txt")
    const error = await expectNoRequests(() => callError(server.client, "contree_upload", { path: missing }))
    expect(error).toContain(`File not found: ${missing}`)
  })

  it("leaves the server answering", async () => {
    const result = await callOk(server.client, "contree_run", { command: "echo alive", image: "tag:busybox:latest" })
    expect(result.stdout).toBe("alive\n")
  })
})
