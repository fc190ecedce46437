// Every tool that exists, over stdio, against a fake that speaks ONLY the current generation of the
// API (files by path, the older `?sha256=` query answered with a listing, `HEAD /files?…` "no
// route", operation events): uploads and rsync deduplicate, runs and waits work with events (and
// the output reaches the client as it comes) and without them (the events route refused).
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callOk, type Connected, connectStdio } from "./harness.js"

let fake: FakeContreeApi
let server: Connected
let scratch: string

const sha = (text: string) => createHash("sha256").update(text).digest("hex")
const made = (from: number) => fake.requests.slice(from).map((r) => `${r.method} ${r.path}${Object.keys(r.query).length === 0 ? "" : `?${new URLSearchParams(r.query)}`}`)
const upload = (text: string) =>
  fetch(`${fake.url}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/octet-stream" }, body: text })
const eventsOf = (id: string) => fake.requests.filter((r) => r.path === `/v1/operations/${id}/events`)

beforeAll(async () => {
  fake = await startFakeContreeApi({ generation: "current", pendingMs: 10, executingMs: 10, keepaliveMs: 100 })
  server = await connectStdio({ url: fake.url, token: fake.token })
  scratch = mkdtempSync(join(tmpdir(), "contree-e2e-current-"))
})

afterAll(async () => {
  await server?.close()
  await fake?.close()
  rmSync(scratch, { recursive: true, force: true })
})

describe("against a server of the current generation only", () => {
  it("contree_upload finds content already there by path, and sends new content once", async () => {
    expect((await upload("already there\n")).status).toBe(201)
    const mark = fake.requests.length
    const found = await callOk(server.client, "contree_upload", { content: "already there\n" })
    expect(found.uuid).toBe([...fake.state.files.values()].find((f) => f.sha256 === sha("already there\n"))?.uuid)
    expect(made(mark)).toEqual([`GET /v1/files/${sha("already there\n")}`])

    const fresh = await callOk(server.client, "contree_upload", { content: "brand new\n" })
    const again = await callOk(server.client, "contree_upload", { content: "brand new\n" })
    expect(again.uuid).toBe(fresh.uuid)
    expect(made(mark).filter((r) => r === "POST /v1/files")).toHaveLength(1)
    // Never the older forms: a current server answers `?sha256=` with a listing, and `HEAD /files?…` with 404.
    expect(made(mark).filter((r) => r.startsWith("HEAD /v1/files?"))).toEqual([])
  })

  it("contree_rsync deduplicates against the server by path, and a second sync asks nothing", async () => {
    const source = join(scratch, "project")
    mkdirSync(join(source, "src"), { recursive: true })
    writeFileSync(join(source, "src/a.py"), "print('a')\n")
    writeFileSync(join(source, "src/b.py"), "print('b')\n")
    writeFileSync(join(source, "README"), "already there\n")
    const mark = fake.requests.length
    const first = await callOk(server.client, "contree_rsync", { source, destination: "/app" })
    expect(first).toMatchObject({ files: 3, uploaded: 2, reused: 1 })
    expect(made(mark).filter((r) => r.startsWith("GET /v1/files/"))).toHaveLength(3)
    expect(made(mark).filter((r) => r === "POST /v1/files")).toHaveLength(2)
    const next = fake.requests.length
    const second = await callOk(server.client, "contree_rsync", { source, destination: "/app" })
    expect(second).toMatchObject({ directory_state_id: first.directory_state_id, uploaded: 0, reused: 3 })
    expect(made(next)).toEqual([])

    const run = await callOk(server.client, "contree_run", {
      command: "cat /app/src/a.py /app/README",
      image: "tag:busybox:latest",
      directory_state_id: first.directory_state_id
    })
    expect(run.stdout).toBe("print('a')\nalready there\n")
  })

  it("contree_run follows the event stream, and the output reaches the client while the run goes on", async () => {
    const progress: Array<Progress> = []
    const result = (await server.client.callTool(
      { name: "contree_run", arguments: { command: "echo first; sleep 1; echo second", image: "tag:busybox:latest" } },
      undefined,
      { onprogress: (p) => progress.push(p) }
    )) as CallToolResult
    expect(result.isError).toBeFalsy()
    const view = result.structuredContent as { operation_id: string; stdout: string; exit_code: number }
    expect([view.stdout, view.exit_code]).toEqual(["first\nsecond\n", 0])
    const asked = eventsOf(view.operation_id)
    expect(asked.length).toBeGreaterThanOrEqual(1)
    expect(asked[0]?.query.follow).toBe("1")
    const withOutput = progress.filter((p) => p.message?.includes("stdout:\nfirst\n"))
    expect(withOutput.length).toBeGreaterThanOrEqual(1)
    // The first output arrived before the run ended: no notification of it mentions "second".
    expect(withOutput[0]?.message).not.toContain("second")
  })

  it("contree_wait_operations and contree_get_operation work on runs started with wait=false", async () => {
    const ids: Array<string> = []
    for (const word of ["x", "y"]) {
      ids.push((await callOk(server.client, "contree_run", { command: `echo ${word}`, image: "tag:busybox:latest", wait: false })).operation_id)
    }
    const outcome = await callOk(server.client, "contree_wait_operations", { operation_ids: ids })
    expect(Object.values(outcome.results as Record<string, { stdout: string }>).map((r) => r.stdout).sort()).toEqual(["x\n", "y\n"])
    const got = await callOk(server.client, "contree_get_operation", { operation_id: ids[0] })
    expect([got.status, got.stdout]).toEqual(["SUCCESS", "x\n"])
    const listed = await callOk(server.client, "contree_list_operations", {})
    expect((listed.operations as Array<{ uuid: string }>).map((o) => o.uuid)).toEqual(expect.arrayContaining(ids))
  })

  it("the image and inspection tools work unchanged: list, get, tag, list files, read, cancel", async () => {
    const listed = await callOk(server.client, "contree_list_images", {})
    const busybox = (listed["images"] as Array<{ uuid: string; tag: string | null }>).find((i) => i.tag === "busybox:latest")!
    expect((await callOk(server.client, "contree_get_image", { image: busybox.uuid }))["uuid"]).toBe(busybox.uuid)
    await callOk(server.client, "contree_set_tag", { image_uuid: busybox.uuid, tag: "current/busybox:1" })
    expect((await callOk(server.client, "contree_get_image", { image: "tag:current/busybox:1" }))["uuid"]).toBe(busybox.uuid)
    // An image has one tag: give busybox its own back for the other tests.
    await callOk(server.client, "contree_set_tag", { image_uuid: busybox.uuid, tag: "busybox:latest" })
    const files = await callOk(server.client, "contree_list_files", { image: busybox.uuid, path: "/etc" })
    expect((files["files"] as Array<{ name: string }>).map((f) => f.name)).toContain("passwd")
    expect((await callOk(server.client, "contree_read_file", { image: busybox.uuid, path: "/etc/passwd" }))["content"]).toContain("root")
    const started = await callOk(server.client, "contree_run", { command: "sleep 30", image: busybox.uuid, wait: false })
    const cancelled = await callOk(server.client, "contree_cancel_operation", { operation_id: started["operation_id"] })
    expect(cancelled["cancelled"]).toBe(true)
  })

  it("contree_whoami answers with the token's permissions, limits and counts", async () => {
    const who = await callOk(server.client, "contree_whoami", {})
    expect(who).toMatchObject({ backend: "cloud", server_version: expect.any(String) })
    expect(Object.keys(who["permissions"] as object).length).toBeGreaterThan(0)
    expect(who["limits"]).toBeTypeOf("object")
    expect(who["operations_stat"]).toBeTypeOf("object")
  })

  it("contree_grep searches an image through GET /inspect/{uuid}/grep", async () => {
    const found = await callOk(server.client, "contree_grep", { image: "tag:busybox:latest", pattern: "root", path: "/etc" })
    expect((found["matches"] as Array<{ path: string }>).map((m) => m.path)).toContain("/etc/passwd")
    expect(fake.requests.some((r) => r.method === "GET" && /^\/v1\/inspect\/[^/]+\/grep$/.test(r.path))).toBe(true)
  })

  it("contree_download copies a directory through GET /inspect/{uuid}/archive", async () => {
    const destination = join(scratch, "etc-copy")
    const copied = await callOk(server.client, "contree_download", { image: "tag:busybox:latest", path: "/etc", destination })
    expect(copied).toMatchObject({ kind: "directory", destination })
    expect(readFileSync(join(destination, "etc", "passwd"), "utf8")).toContain("root")
  })

  it("contree_run sends the newer fields only when given: uid, gid, preserve_env, max_layer_bytes, network", async () => {
    const from = fake.requests.length
    await callOk(server.client, "contree_run", {
      command: "true",
      image: "tag:busybox:latest",
      uid: 1000,
      gid: 1000,
      preserve_env: true,
      max_layer_bytes: 4096,
      network: false,
      disposable: false
    })
    const spawn = fake.requests.slice(from).find((r) => r.method === "POST" && r.path === "/v1/instances")
    expect(spawn?.json).toMatchObject({ uid: 1000, gid: 1000, preserve_env: true, resources_limits: { max_layer_bytes: 4096 }, networking: { enabled: false } })
  })
})

describe("against a server of the current generation whose events route is refused", () => {
  let polling: Connected

  beforeAll(async () => {
    fake.injectFault({ method: "GET", path: /^\/operations\/[^/]+\/events$/, status: 405, times: 1000, body: { error: "method not allowed", status: 405 } })
    polling = await connectStdio({ url: fake.url, token: fake.token })
  })

  afterAll(async () => {
    fake.clearFaults()
    await polling?.close()
  })

  it("runs and waits still work, by polling, and the events route is asked once per server", async () => {
    const run = await callOk(polling.client, "contree_run", { command: "echo polled", image: "tag:busybox:latest" })
    expect(run.stdout).toBe("polled\n")
    const id = (await callOk(polling.client, "contree_run", { command: "echo later", image: "tag:busybox:latest", wait: false })).operation_id
    const outcome = await callOk(polling.client, "contree_wait_operations", { operation_ids: [id] })
    expect((outcome.results as Record<string, { stdout: string }>)[id]?.stdout).toBe("later\n")
    expect(eventsOf(run.operation_id).length).toBeLessThanOrEqual(1)
    expect(eventsOf(id)).toEqual([])
    expect(fake.requests.some((r) => r.path === `/v1/operations/${id}`)).toBe(true)
  })
})
