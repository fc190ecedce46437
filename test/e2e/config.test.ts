// Where the built server finds its cloud credentials, end to end: the vendor's auth.ini profiles,
// the vendor's CONTREE_* variables and our own mcp.ini each point it at the fake API, and it lists
// images there with the configured token.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callOk, connectStdio, type ServerEnv } from "./harness.js"

let fake: FakeContreeApi
let dir: string

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 0, executingMs: 0 })
  dir = mkdtempSync(join(tmpdir(), "contree-e2e-config-"))
})

afterAll(async () => {
  await fake?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Lists images through a server set up only by `server`, and returns what the fake saw of it. */
const listThrough = async (server: ServerEnv) => {
  fake.requests.length = 0
  const connected = await connectStdio(server)
  try {
    const result = await callOk(connected.client, "contree_list_images", {})
    const seen = fake.requests.filter((r) => r.method === "GET" && r.path === "/v1/images")
    return { images: (result["images"] as ReadonlyArray<unknown>).length, authorization: seen.map((r) => r.headers["authorization"]) }
  } finally {
    await connected.close()
  }
}

const write = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe("cloud credentials, as the vendor's tools and as the reference 0.1.x keep them", () => {
  it("an auth.ini jwt profile alone selects the cloud backend at its URL", async () => {
    const home = mkdtempSync(join(dir, "home-"))
    writeFileSync(join(home, "auth.ini"), `[DEFAULT]\nprofile = mine\n\n[profile:mine]\nurl = ${fake.url}\ntoken = ${fake.token}\n`)
    const seen = await listThrough({ extraEnv: { CONTREE_HOME: home } })
    expect(seen.images).toBeGreaterThan(0)
    expect(seen.authorization).toEqual([`Bearer ${fake.token}`])
  })

  it("CONTREE_TOKEN and CONTREE_URL alone select the cloud backend at that URL", async () => {
    const seen = await listThrough({ extraEnv: { CONTREE_TOKEN: fake.token, CONTREE_URL: fake.url } })
    expect(seen.authorization).toEqual([`Bearer ${fake.token}`])
  })

  it("an mcp.ini alone still does", async () => {
    const ini = write("mcp.ini", `[DEFAULT]\nurl = ${fake.url}\ntoken = ${fake.token}\n`)
    const seen = await listThrough({ extraEnv: { CONTREE_MCP_CONFIG: ini } })
    expect(seen.authorization).toEqual([`Bearer ${fake.token}`])
  })
})
