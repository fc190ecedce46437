// Messages over the transport's limit (10 MiB) are answered with an error and the server goes on,
// over stdio and over streamable HTTP, on the built server with the local backend. A large file
// still uploads through `path`, which is streamed from disk.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { createHash, randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callError, callOk, connectHttp, connectLocal, type Connected, startHttpServer } from "./harness.js"

const TWELVE_MB = 12 * 1000 * 1000
const bytes = randomBytes(TWELVE_MB)
const base64 = bytes.toString("base64")

let dataDir: string
let hostDir: string
let bigFile: string

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-oversized-"))
  hostDir = mkdtempSync(join(tmpdir(), "contree-e2e-oversized-host-"))
  bigFile = join(hostDir, "big.bin")
  writeFileSync(bigFile, bytes)
})

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(hostDir, { recursive: true, force: true })
})

/** The same checks for both transports, on a connected client. */
const survivesOversized = async (client: Client) => {
  const upload = await callError(client, "contree_upload", { content_base64: base64 })
  expect(upload).toMatch(/^content_base64 is too large/)
  expect(upload).toContain("10.0 MiB")
  expect(upload).toContain("path")

  // Not an upload: a JSON-RPC error, which the SDK client throws.
  const other = await client.callTool({ name: "contree_run", arguments: { image: "tag:none", command: "true", stdin: "x".repeat(TWELVE_MB) } })
    .then(() => "answered", (error: unknown) => String(error))
  expect(other).toContain("over the limit of 10.0 MiB")

  // Still serving: a small upload, then the same 12 MB through path.
  const small = await callOk(client, "contree_upload", { content_base64: Buffer.from("hello").toString("base64") })
  expect(small.size).toBe(5)
  const big = await callOk(client, "contree_upload", { path: bigFile })
  expect(big).toMatchObject({ size: TWELVE_MB, sha256: createHash("sha256").update(bytes).digest("hex") })
  expect((await client.listTools()).tools.length).toBeGreaterThan(10)
}

describe("oversized messages over stdio", () => {
  let server: Connected
  beforeAll(async () => {
    server = await connectLocal({ dataDir })
  })
  afterAll(async () => {
    await server?.close()
  })

  it("answers a 12 MB request with an error and keeps serving", async () => {
    await survivesOversized(server.client)
    expect(server.stderr()).toContain("over the limit of 10.0 MiB")
  })
})

describe("oversized messages over streamable HTTP", () => {
  let http: Awaited<ReturnType<typeof startHttpServer>>
  let client: Client
  beforeAll(async () => {
    http = await startHttpServer({ args: ["--backend", "local", "--data-dir", join(dataDir, "http")] })
    client = await connectHttp(http.baseUrl)
  })
  afterAll(async () => {
    await client?.close()
    await http?.stop()
  })

  it("answers a 12 MB request with an error and keeps serving", async () => {
    await survivesOversized(client)
  })
})
