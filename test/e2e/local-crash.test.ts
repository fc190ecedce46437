// The local backend survives a crash: the server is killed with SIGKILL in the middle of a
// committed run, and a server restarted on the same data directory reports the run FAILED, has
// saved no image for it, and no process of the sandbox is left on the host.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { callOk, type Connected, connectLocal, waitFor } from "./harness.js"
import { descendantsOf, marker, processesWith, stillRunning } from "./localProcesses.js"
import { cgroupsNamed } from "../support/cgroups.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const describeLocal = bwrapInstalled ? describe : describe.skip


const servers: Array<Connected> = []
const dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-crash-"))

afterAll(async () => {
  for (const server of servers) await server.close().catch(() => undefined)
  rmSync(dataDir, { recursive: true, force: true })
})

const imageIds = async (server: Connected): Promise<Array<string>> =>
  ((await callOk(server.client, "contree_list_images", {})).images as Array<{ uuid: string }>).map((image) => image.uuid).sort()

describeLocal("local backend: a server killed with SIGKILL in the middle of a committed run", () => {
  it("restarts with the run FAILED, no new image, and no sandbox process left", async () => {
    const first = await connectLocal({ dataDir })
    servers.push(first)
    const imagesBefore = await imageIds(first)
    const layersBefore = readdirSync(join(dataDir, "sandbox", "layers")).sort()

    // A sleep far longer than the test: a sandbox that outlived its server could not pass for one that ended by itself.
    const sleep = `sleep ${marker()}`
    const started = await callOk(first.client, "contree_run", {
      command: `${sleep}; echo x > /f`,
      image: "tag:busybox:latest",
      disposable: false,
      wait: false
    })
    const id = started.operation_id as string
    await waitFor("the run to execute", async () => {
      const op = await callOk(first.client, "contree_get_operation", { operation_id: id })
      return op.status === "EXECUTING" && descendantsOf(first.pid).some((p) => p.cmdline === sleep) ? true : undefined
    })
    // Everything the server started (setup process, bwrap, the sandbox's processes), and anything carrying the command.
    const tree = [...descendantsOf(first.pid), ...processesWith(sleep)]
    // bwrap runs by its full path (it starts with an empty environment, no PATH to search).
    expect(tree.some((p) => /^(\/\S+\/)?bwrap /.test(p.cmdline))).toBe(true)

    process.kill(first.pid, "SIGKILL")
    await waitFor("the sandbox's processes to end", () =>
      stillRunning(tree).length === 0 && processesWith(sleep).length === 0 ? true : undefined)

    const second = await connectLocal({ dataDir })
    servers.push(second)
    const op = await callOk(second.client, "contree_get_operation", { operation_id: id })
    expect(op).toMatchObject({ operation_id: id, status: "FAILED" })
    expect(op.error).toMatch(/interrupted/)
    expect(op.result_image ?? null).toBeNull()
    expect(await imageIds(second)).toEqual(imagesBefore)
    expect(readdirSync(join(dataDir, "sandbox", "layers")).sort()).toEqual(layersBefore)
    expect(readdirSync(join(dataDir, "sandbox", "runs"))).toEqual([])
    expect(cgroupsNamed(id)).toEqual([])
    expect(processesWith(sleep)).toEqual([])

    // The restarted server works on the same state.
    const after = await callOk(second.client, "contree_run", {
      command: "echo x > /f && cat /f",
      image: "tag:busybox:latest",
      disposable: false
    })
    expect(after).toMatchObject({ status: "SUCCESS", exit_code: 0, stdout: "x\n" })
    expect(await imageIds(second)).toEqual([...imagesBefore, after.result_image].sort())
  })
})
