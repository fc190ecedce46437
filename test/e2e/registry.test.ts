// Registry authentication and image import over stdio, against in-test fake OCI registries on
// loopback and the fake ConTree API. The registry token must never show up in what the client
// sees (results, errors, log notifications) nor in the server's stderr.
import { type CallToolResult, LoggingMessageNotificationSchema, type Progress } from "@modelcontextprotocol/sdk/types.js"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { type FakeOciRegistry, startFakeOciRegistry } from "../fake/FakeOciRegistry.js"
import { callError, callOk, type Connected, connectStdio, waitFor } from "./harness.js"

const USER = "robot"
const TOKEN = "rgt-SECRET-7c4e1a90b2d35f68"
const BASIC_USER = "basic-user"
const BASIC_TOKEN = "bgt-SECRET-13579bdf2468ace0"
const secrets = [
  TOKEN,
  BASIC_TOKEN,
  Buffer.from(`${USER}:${TOKEN}`).toString("base64"),
  Buffer.from(`${BASIC_USER}:${BASIC_TOKEN}`).toString("base64")
]

let api: FakeContreeApi
let bearer: FakeOciRegistry
let basic: FakeOciRegistry
let open: FakeOciRegistry
let server: Connected
/** Every result, error and log notification the client saw. */
const seen: Array<string> = []

const ok = (name: string, args: Record<string, unknown>) => callOk(server.client, name, args, seen)
const fails = (name: string, args: Record<string, unknown>) => callError(server.client, name, args, seen)
const credentialFile = () => join(server.home, ".config", "contree", "registry-credentials.json")
const importBodies = () =>
  api.requests.filter((r) => r.method === "POST" && r.path === "/v1/images/import").map((r) => r.json as Record<string, any>)

beforeAll(async () => {
  api = await startFakeContreeApi({ pendingMs: 10, executingMs: 300 })
  bearer = await startFakeOciRegistry({ mode: "bearer", users: { [USER]: TOKEN } })
  basic = await startFakeOciRegistry({ mode: "basic", users: { [BASIC_USER]: BASIC_TOKEN } })
  open = await startFakeOciRegistry({ mode: "anonymous" })
  server = await connectStdio({ url: api.url, token: api.token, args: ["--log-level", "debug"] })
  server.client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    seen.push(JSON.stringify(notification))
  })
  await server.client.setLoggingLevel("debug")
})

afterAll(async () => {
  await server?.close()
  await Promise.all([api?.close(), bearer?.close(), basic?.close(), open?.close()])
})

describe("contree_registry_token_obtain", () => {
  it("on a machine without a display returns the token page and opens nothing", async () => {
    // A browser launcher that leaves a trace, first on PATH; the server has no DISPLAY.
    const bin = mkdtempSync(join(tmpdir(), "contree-fake-browser-"))
    const marker = join(bin, "opened")
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\necho "$1" > '${marker}'\n`, { mode: 0o755 })
    const pathWithLauncher = `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`
    const headless = await connectStdio({ url: api.url, token: api.token, extraEnv: { PATH: pathWithLauncher } })
    const withDisplay = await connectStdio({ url: api.url, token: api.token, extraEnv: { PATH: pathWithLauncher, DISPLAY: ":0" } })
    try {
      const result = (await headless.client.callTool({
        name: "contree_registry_token_obtain",
        arguments: { registry_url: "ghcr.io/org/image:1" }
      })) as CallToolResult
      expect(result.isError).toBeFalsy()
      const out = result.structuredContent as Record<string, any>
      expect(out.status).toBe("success")
      expect(out.registry).toBe("ghcr.io")
      expect(out.url).toBe("https://github.com/settings/tokens?type=beta")
      expect(out.browser_opened).toBe(false)
      expect(out.agent_instruction).toContain("STOP")
      expect(out.agent_instruction).toContain("wait")
      expect(existsSync(marker)).toBe(false)

      // The same launcher does run where there is a display, so the check above could fail.
      const opened = await callOk(withDisplay.client, "contree_registry_token_obtain", { registry_url: "docker.io/library/alpine" })
      expect(opened.browser_opened).toBe(true)
      const page = await waitFor("the launcher to run", () => (existsSync(marker) ? readFileSync(marker, "utf8").trim() : undefined))
      expect(page).toBe("https://app.docker.com/settings/personal-access-tokens")
    } finally {
      await headless.close()
      await withDisplay.close()
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it("answers an unknown registry with status error and an empty URL", async () => {
    const out = await ok("contree_registry_token_obtain", { registry_url: `docker://${bearer.host}/team/app:1` })
    expect(out).toMatchObject({ status: "error", registry: bearer.host, url: "", agent_instruction: "", browser_opened: false })
    expect(out.message).toContain("Unknown registry")
  })
})

describe("contree_registry_auth", () => {
  it("refuses wrong credentials of a token-realm registry and stores nothing", async () => {
    const out = await ok("contree_registry_auth", { registry_url: `${bearer.host}/team/app`, username: USER, token: `${TOKEN}-typo` })
    expect(out.status).toBe("error")
    expect(out.registry).toBe(bearer.host)
    expect(out.message.toLowerCase()).toContain("invalid")
    expect(existsSync(credentialFile())).toBe(false)
    // The realm flow really ran.
    expect(bearer.requests.map((r) => r.path)).toEqual(["/v2/", "/token"])
  })

  it("accepts the right ones through the realm and stores them in a 0600 file", async () => {
    const out = await ok("contree_registry_auth", { registry_url: `docker://${bearer.host}/team/app:1`, username: USER, token: TOKEN })
    expect(out).toMatchObject({ status: "success", registry: bearer.host })
    expect(out.message).toContain("successfully")
    const file = credentialFile()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(join(server.home, ".config", "contree")).mode & 0o777).toBe(0o700)
    const stored = JSON.parse(readFileSync(file, "utf8"))
    expect(stored.registries[bearer.host]).toMatchObject({ username: USER, token: TOKEN, scopes: ["pull"] })
  })

  it("checks a Basic-auth registry with Basic auth", async () => {
    const wrong = await ok("contree_registry_auth", { registry_url: basic.host, username: BASIC_USER, token: "nope" })
    expect(wrong.status).toBe("error")
    expect(wrong.message.toLowerCase()).toContain("invalid")
    const right = await ok("contree_registry_auth", { registry_url: basic.host, username: BASIC_USER, token: BASIC_TOKEN })
    expect(right.status).toBe("success")
    expect(basic.requests.map((r) => r.path)).toEqual(["/v2/", "/v2/", "/v2/", "/v2/"])
    expect(JSON.parse(readFileSync(credentialFile(), "utf8")).registries[basic.host].username).toBe(BASIC_USER)
  })
})

describe("contree_import_image", () => {
  it("refuses to pull without credentials, naming the host, and never calls ConTree", async () => {
    const before = importBodies().length
    const text = await fails("contree_import_image", { registry_url: `${open.host}/team/app:1` })
    expect(text).toContain(`'${open.host}'`)
    expect(text).toContain("contree_registry_token_obtain")
    expect(text).toContain("contree_registry_auth")
    expect(importBodies().length).toBe(before)
  })

  it("pulls anonymously with the flag, sending no credentials", async () => {
    const view = await ok("contree_import_image", {
      registry_url: `${open.host}/team/app:1`,
      i_accept_that_anonymous_access_might_be_rate_limited: true
    })
    expect(view.status).toBe("SUCCESS")
    const body = importBodies().at(-1)!
    expect(body.registry).toEqual({ url: `docker://${open.host}/team/app:1` })
    expect(body.timeout).toBe(300)
  })

  it("uses the stored credentials, waits with progress and records the image as an import root", async () => {
    const progress: Array<Progress> = []
    const result = (await server.client.callTool(
      { name: "contree_import_image", arguments: { registry_url: `docker://${bearer.host}/team/app:2`, tag: "team/app:2" } },
      undefined,
      { onprogress: (p) => progress.push(p) }
    )) as CallToolResult
    seen.push(JSON.stringify(result))
    expect(result.isError).toBeFalsy()
    const view = result.structuredContent as Record<string, any>
    expect(view).toMatchObject({
      kind: "image_import",
      status: "SUCCESS",
      registry_url: `docker://${bearer.host}/team/app:2`,
      result_tag: "team/app:2"
    })
    expect(view.result_image).toMatch(/^[0-9a-f-]{36}$/)
    // The fake ConTree API got the stored credentials in the import body.
    expect(importBodies().at(-1)).toEqual({
      registry: { url: `docker://${bearer.host}/team/app:2`, credentials: { username: USER, password: TOKEN } },
      tag: "team/app:2",
      timeout: 300
    })
    // They were checked with the registry again first.
    expect(bearer.requests.slice(-2).map((r) => r.path)).toEqual(["/v2/", "/token"])
    expect(progress.length).toBeGreaterThanOrEqual(1)
    expect(progress.some((p) => p.message?.includes(view.operation_id))).toBe(true)

    const lineage = await server.client.readResource({ uri: `contree://image/${view.result_image}/lineage` })
    seen.push(JSON.stringify(lineage))
    const first = lineage.contents[0]
    const parsed = JSON.parse(first !== undefined && "text" in first ? String(first.text) : "{}")
    expect(parsed).toMatchObject({ image: view.result_image, parent: null, root: view.result_image, depth: 0, is_known: true })
    expect(parsed.data).toMatchObject({ is_import: true, registry_url: `docker://${bearer.host}/team/app:2`, operation_id: view.operation_id })

    const tagged = await ok("contree_get_image", { image: "tag:team/app:2" })
    expect(tagged.uuid).toBe(view.result_image)
  })

  it("wait=false returns the pending operation, which can be waited for", async () => {
    const pending = await ok("contree_import_image", { registry_url: `${basic.host}/team/app`, wait: false })
    expect(pending).toEqual({ operation_id: expect.any(String), kind: "image_import", status: "PENDING" })
    expect(importBodies().at(-1)?.registry.credentials).toEqual({ username: BASIC_USER, password: BASIC_TOKEN })
    const waited = await ok("contree_wait_operations", { operation_ids: [pending.operation_id] })
    expect(JSON.stringify(waited)).toContain("SUCCESS")
  })

  it("drops stored credentials the registry refuses, then asks for new ones", async () => {
    const file = credentialFile()
    const stored = JSON.parse(readFileSync(file, "utf8"))
    stored.registries[bearer.host].token = "revoked-token"
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 })
    const text = await fails("contree_import_image", { registry_url: `${bearer.host}/team/app:3` })
    expect(text).toContain(`'${bearer.host}'`)
    expect(text).toContain("refused")
    expect(JSON.parse(readFileSync(file, "utf8")).registries[bearer.host]).toBeUndefined()
    // Logging in again restores them.
    expect((await ok("contree_registry_auth", { registry_url: bearer.host, username: USER, token: TOKEN })).status).toBe("success")
  })
})

describe("cancellation", () => {
  let slowApi: FakeContreeApi
  let slowServer: Connected

  beforeAll(async () => {
    slowApi = await startFakeContreeApi({ pendingMs: 10, executingMs: 60_000 })
    slowServer = await connectStdio({ url: slowApi.url, token: slowApi.token })
  })

  afterAll(async () => {
    await slowServer?.close()
    await slowApi?.close()
  })

  it("aborting a waiting import cancels the operation on ConTree", async () => {
    const controller = new AbortController()
    const call = slowServer.client.callTool(
      {
        name: "contree_import_image",
        arguments: { registry_url: `${open.host}/team/slow:1`, i_accept_that_anonymous_access_might_be_rate_limited: true }
      },
      undefined,
      { signal: controller.signal }
    )
    const settled = call.then(() => "resolved", () => "rejected")
    const op = await waitFor("the import to be EXECUTING on the fake", () =>
      [...slowApi.state.operations.values()].find((o) => o.kind === "image_import" && o.status === "EXECUTING"))
    controller.abort("the test aborts the call")
    expect(await settled).toBe("rejected")
    await waitFor("the import to be cancelled", () => (op.status === "CANCELLED" ? true : undefined))
    expect(slowApi.requests.some((r) => r.method === "DELETE" && r.path === `/v1/operations/${op.uuid}`)).toBe(true)
  })
})

describe("the registry tokens", () => {
  it("never appear in results, errors, log notifications or the server's log", async () => {
    // The calls above did use them, and the server logged at debug level.
    expect(seen.length).toBeGreaterThan(10)
    expect(server.stderr()).toContain("[DEBUG]")
    expect(readFileSync(credentialFile(), "utf8")).toContain(TOKEN)
    for (const secret of secrets) {
      for (const text of seen) expect(text).not.toContain(secret)
      expect(server.stderr()).not.toContain(secret)
    }
  })
})
