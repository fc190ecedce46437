// Operations over stdio: listing, waiting (all, any, timeout), cancelling, concurrency, MCP
// cancellation and progress. Concurrency is judged from the fake's recorded timestamps, never
// from wall-clock thresholds.
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, type FakeOperation, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callOk, type Connected, connectStdio, waitFor } from "./harness.js"

let fake: FakeContreeApi
let server: Connected

const operation = (id: string): FakeOperation => {
  const op = fake.state.operations.get(id)
  if (op === undefined) throw new Error(`the fake has no operation ${id}`)
  return op
}
const deletesOf = (id: string) => fake.requests.filter((r) => r.method === "DELETE" && r.path === `/v1/operations/${id}`)
const untilStatus = (id: string, status: FakeOperation["status"]) =>
  waitFor(`operation ${id} to be ${status} on the fake`, () => (operation(id).status === status ? true : undefined))
const start = async (command: string): Promise<string> =>
  (await callOk(server.client, "contree_run", { command, image: "tag:busybox:latest", wait: false })).operation_id

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
  server = await connectStdio({ url: fake.url, token: fake.token })
  await server.client.listTools()
})

afterAll(async () => {
  await server?.close()
  await fake?.close()
})

describe("contree_list_operations", () => {
  let running: string
  let finished: string
  let imported: string

  beforeAll(async () => {
    running = await start("sleep 30")
    finished = (await callOk(server.client, "contree_run", { command: "echo done", image: "tag:busybox:latest" })).operation_id
    const response = await fetch(`${fake.url}/v1/images/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/json" },
      body: JSON.stringify({ registry: { url: "docker://alpine:3.20" }, tag: "e2e/ops/alpine:3.20" })
    })
    expect(response.status).toBe(201)
    imported = ((await response.json()) as { uuid: string }).uuid
    await untilStatus(running, "EXECUTING")
    await untilStatus(imported, "SUCCESS")
  })

  afterAll(async () => {
    await callOk(server.client, "contree_cancel_operation", { operation_id: running })
  })

  const list = async (args: Record<string, unknown>) =>
    (await callOk(server.client, "contree_list_operations", args)).operations as Array<{ uuid: string; kind: string; status: string }>

  it("lists every operation with its kind and status", async () => {
    const all = await list({})
    const byId = Object.fromEntries(all.map((op) => [op.uuid, op]))
    expect(byId[running]).toMatchObject({ kind: "instance", status: "EXECUTING" })
    expect(byId[finished]).toMatchObject({ kind: "instance", status: "SUCCESS" })
    expect(byId[imported]).toMatchObject({ kind: "image_import", status: "SUCCESS" })
  })

  it("filters by status", async () => {
    const executing = await list({ status: "EXECUTING" })
    expect(executing.map((op) => op.uuid)).toContain(running)
    expect(executing.every((op) => op.status === "EXECUTING")).toBe(true)
    const succeeded = await list({ status: "SUCCESS" })
    expect(succeeded.map((op) => op.uuid)).toEqual(expect.arrayContaining([finished, imported]))
    expect(succeeded.map((op) => op.uuid)).not.toContain(running)
    expect(succeeded.every((op) => op.status === "SUCCESS")).toBe(true)
  })

  it("filters by type", async () => {
    const instances = await list({ type: "instance" })
    expect(instances.map((op) => op.uuid)).toEqual(expect.arrayContaining([running, finished]))
    expect(instances.every((op) => op.kind === "instance")).toBe(true)
    const imports = await list({ type: "image_import" })
    expect(imports.map((op) => op.uuid)).toEqual([imported])
  })

  it("honours limit", async () => {
    expect(await list({ limit: 1 })).toHaveLength(1)
  })
})

describe("contree_wait_operations", () => {
  it("waits for three runs started with wait=false, which ran at the same time", async () => {
    const ids = await Promise.all([start("sleep 1; echo one"), start("sleep 1; echo two"), start("sleep 1; echo three")])
    const outcome = await callOk(server.client, "contree_wait_operations", { operation_ids: ids })
    expect(outcome.timed_out).toBe(false)
    expect(outcome.cancelled).toEqual([])
    expect(outcome.errors).toEqual({})
    expect([...outcome.completed].sort()).toEqual([...ids].sort())
    expect(ids.map((id) => outcome.results[id].status)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"])
    expect(ids.map((id) => outcome.results[id].stdout)).toEqual(["one\n", "two\n", "three\n"])

    // The fake's EXECUTING intervals overlap: every run started before any of them ended.
    const ops = ids.map(operation)
    expect(ops.map((op) => op.status)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"])
    const lastStart = Math.max(...ops.map((op) => op.startedAt ?? Number.POSITIVE_INFINITY))
    const firstEnd = Math.min(...ops.map((op) => op.finishedAt ?? Number.NEGATIVE_INFINITY))
    expect(lastStart).toBeLessThan(firstEnd)
  })

  it("mode=any returns the first to finish and cancels the others on the server", async () => {
    const slow1 = await start("sleep 30")
    const fast = await start("echo fast")
    const slow2 = await start("sleep 30")
    const outcome = await callOk(server.client, "contree_wait_operations", { operation_ids: [slow1, fast, slow2], mode: "any" })
    expect(outcome.completed).toEqual([fast])
    expect(outcome.results[fast]).toMatchObject({ status: "SUCCESS", stdout: "fast\n" })
    expect([...outcome.cancelled].sort()).toEqual([slow1, slow2].sort())
    expect(outcome.timed_out).toBe(false)
    await untilStatus(slow1, "CANCELLED")
    await untilStatus(slow2, "CANCELLED")
    expect(deletesOf(slow1).length).toBeGreaterThanOrEqual(1)
    expect(deletesOf(slow2).length).toBeGreaterThanOrEqual(1)
    expect(operation(fast).status).toBe("SUCCESS")
  })

  it("a timeout cancels what is unfinished and reports timed_out", async () => {
    const slow = await start("sleep 30")
    const outcome = await callOk(server.client, "contree_wait_operations", { operation_ids: [slow], timeout: 0.5 })
    expect(outcome.timed_out).toBe(true)
    expect(outcome.completed).toEqual([])
    expect(outcome.cancelled).toEqual([slow])
    expect(outcome.results).toEqual({})
    await untilStatus(slow, "CANCELLED")
    expect(deletesOf(slow).length).toBeGreaterThanOrEqual(1)
  })
})

describe("contree_cancel_operation", () => {
  it("cancels a running operation on the server", async () => {
    const id = await start("sleep 30")
    await untilStatus(id, "EXECUTING")
    const outcome = await callOk(server.client, "contree_cancel_operation", { operation_id: id })
    expect(outcome).toEqual({ cancelled: true, operation_id: id, status: "CANCELLED" })
    expect(operation(id).status).toBe("CANCELLED")
    expect(deletesOf(id)).toHaveLength(1)
    const after = await callOk(server.client, "contree_get_operation", { operation_id: id })
    expect(after.status).toBe("CANCELLED")
  })

  it("leaves a finished operation alone and says cancelled=false", async () => {
    const done = await callOk(server.client, "contree_run", { command: "echo finished", image: "tag:busybox:latest" })
    const outcome = await callOk(server.client, "contree_cancel_operation", { operation_id: done.operation_id })
    expect(outcome).toEqual({ cancelled: false, operation_id: done.operation_id, status: "SUCCESS" })
    expect(operation(done.operation_id).status).toBe("SUCCESS")
    expect(deletesOf(done.operation_id)).toHaveLength(0)
  })
})

describe("MCP cancellation and progress", () => {
  it("aborting a waiting contree_run cancels the operation on the server, and the server keeps answering", async () => {
    const command = "sleep 30; echo abort-me"
    const controller = new AbortController()
    const call = server.client.callTool(
      { name: "contree_run", arguments: { command, image: "tag:busybox:latest" } },
      undefined,
      { signal: controller.signal }
    )
    const settled = call.then(() => "resolved", () => "rejected")
    const op = await waitFor("the run to be EXECUTING on the fake", () =>
      [...fake.state.operations.values()].find((o) => "command" in o.metadata && o.metadata.command === command && o.status === "EXECUTING"))
    controller.abort("test aborts the call")
    expect(await settled).toBe("rejected")

    await waitFor("DELETE of the aborted operation", () => (deletesOf(op.uuid).length > 0 ? true : undefined))
    expect(operation(op.uuid).status).toBe("CANCELLED")

    const next = await callOk(server.client, "contree_run", { command: "echo still here", image: "tag:busybox:latest" })
    expect(next.stdout).toBe("still here\n")
  })

  it("a waiting contree_run sends progress notifications", async () => {
    const progress: Array<Progress> = []
    const result = (await server.client.callTool(
      { name: "contree_run", arguments: { command: "sleep 2; echo progressed", image: "tag:busybox:latest" } },
      undefined,
      { onprogress: (p) => progress.push(p) }
    )) as CallToolResult
    expect(result.isError).toBeFalsy()
    const view = result.structuredContent as { operation_id: string; stdout: string }
    expect(view.stdout).toBe("progressed\n")
    expect(progress.length).toBeGreaterThanOrEqual(1)
    expect(progress.some((p) => p.message?.includes(view.operation_id))).toBe(true)
    const values = progress.map((p) => p.progress)
    expect(values).toEqual([...values].sort((a, b) => a - b))
  })
})
