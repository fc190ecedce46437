// Searching, directory downloads, whoami and live output on the local engine, end to end: the built
// server on `--backend local`, and on the cloud backend through `contree-mcp serve`, driven over stdio.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { callError, callOk, type Connected, engineBackends } from "./harness.js"

const ready = spawnSync("bwrap", ["--version"]).status === 0 && spawnSync("rg", ["--version"]).status === 0
const describeLocal = ready ? describe : describe.skip

const BUSYBOX = "tag:busybox:latest"

for (const backend of engineBackends) {
  describeLocal(`${backend.name}: grep, directory downloads, whoami, the newer run parameters`, () => {
    let dataDir: string
    let hostDir: string
    let server: Connected
    let stop: () => Promise<void> = async () => undefined

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-inspect-"))
      hostDir = mkdtempSync(join(tmpdir(), "contree-e2e-inspect-host-"))
      ;({ server, stop } = await backend.connect(dataDir))
    })

    afterAll(async () => {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
      rmSync(hostDir, { recursive: true, force: true })
    })

    it("contree_grep finds root in /etc/passwd of busybox:latest and nothing for a pattern that is nowhere", async () => {
      const found = await callOk(server.client, "contree_grep", { image: BUSYBOX, pattern: "^root:", path: "/etc/passwd" })
      expect(found).toMatchObject({ truncated: false, patterns: ["^root:"] })
      expect(found["matches"]).toEqual([
        { path: "/etc/passwd", line_number: 1, line_text: "root:x:0:0:root:/root:/bin/sh", submatches: [{ text: "root:", start: 0, end: 5 }] }
      ])
      const none = await callOk(server.client, "contree_grep", { image: BUSYBOX, pattern: ["nowhere-at-all-4711", "nor-here-0815"] })
      expect(none["matches"]).toEqual([])
      expect(await callError(server.client, "contree_grep", { image: BUSYBOX, pattern: "a(" })).toContain("regex parse error")
    })

    it("contree_grep sees what a run committed, and a later deletion", async () => {
      const made = await callOk(server.client, "contree_run", {
        image: BUSYBOX,
        command: "mkdir -p /src && echo 'def needle(): pass' > /src/a.py && echo needle > /src/b.txt",
        disposable: false
      })
      const first = made["result_image"] as string
      const glob = await callOk(server.client, "contree_grep", { image: first, pattern: "needle", path: "/src", glob: ["*.py"] })
      expect((glob["matches"] as Array<{ path: string }>).map((m) => m.path)).toEqual(["/src/a.py"])
      const removed = await callOk(server.client, "contree_run", { image: first, command: "rm /src/a.py", disposable: false })
      const after = await callOk(server.client, "contree_grep", { image: removed["result_image"], pattern: "needle", path: "/src" })
      expect((after["matches"] as Array<{ path: string }>).map((m) => m.path)).toEqual(["/src/b.txt"])
    })

    it("contree_download copies a directory into a new local directory, and refuses an existing one", async () => {
      const made = await callOk(server.client, "contree_run", {
        image: BUSYBOX,
        command: "mkdir -p /out/sub && echo one > /out/one && echo two > /out/sub/two && chmod 750 /out/sub && ln -s one /out/link",
        disposable: false
      })
      const destination = join(hostDir, "copy")
      const copied = await callOk(server.client, "contree_download", { image: made["result_image"], path: "/out", destination })
      expect(copied).toMatchObject({ kind: "directory", destination, entries: 5 })
      expect(readdirSync(join(destination, "out")).sort()).toEqual(["link", "one", "sub"])
      expect(readFileSync(join(destination, "out", "sub", "two"), "utf8")).toBe("two\n")
      expect(statSync(join(destination, "out", "sub")).mode & 0o777).toBe(0o750)
      expect(readlinkSync(join(destination, "out", "link"))).toBe("one")
      expect(await callError(server.client, "contree_download", { image: made["result_image"], path: "/out", destination })).toContain("exists")
      expect(await callError(server.client, "contree_download", { image: BUSYBOX, path: "/no/such/dir", destination: join(hostDir, "x") }))
        .toMatch(/not found/i)
    })

    it("contree_whoami tells the backend, permissions, limits and operation counts", async () => {
      const who = await callOk(server.client, "contree_whoami", {})
      expect(who).toMatchObject({ backend: "local", token_uuid: "local", permissions: { spawn: true, import: true, list: true } })
      expect((who["limits"] as Record<string, number>)["instance_max_timeout"]).toBe(86_400)
      expect((who["limits"] as Record<string, number>)["instance_max_concurrency"]).toBeGreaterThanOrEqual(2)
      expect((who["operations_stat"] as Record<string, number>)["SUCCESS"]).toBeGreaterThan(0)
    })

    // In process, the engine feeds the output as it comes; serve does not stream events yet.
    it.runIf(backend.inProcess)("contree_run: the output reaches the client while the run goes on", async () => {
      const progress: Array<Progress> = []
      const result = (await server.client.callTool(
        { name: "contree_run", arguments: { command: "echo first; sleep 2; echo second", image: BUSYBOX } },
        undefined,
        { onprogress: (p) => progress.push(p) }
      )) as CallToolResult
      expect((result.structuredContent as { stdout: string }).stdout).toBe("first\nsecond\n")
      const withOutput = progress.filter((p) => p.message?.includes("first"))
      expect(withOutput.length).toBeGreaterThanOrEqual(1)
      expect(withOutput[0]?.message).not.toContain("second")
    })

    it.runIf(process.getuid?.() === 0)("contree_run uid/gid 1000: the command runs as that user", async () => {
      const ran = await callOk(server.client, "contree_run", { image: BUSYBOX, command: "id -u; id -g", uid: 1000, gid: 1000 })
      expect([ran["exit_code"], ran["stdout"]]).toEqual([0, "1000\n1000\n"])
      // A uid alone takes its primary group from the image's /etc/passwd (nobody: 65534), as `docker run -u`.
      const alone = await callOk(server.client, "contree_run", { image: BUSYBOX, command: "id -u; id -g", uid: 65534 })
      expect(alone["stdout"]).toBe("65534\n65534\n")
    })

    it("contree_run preserve_env bakes a variable that a later run sees, and null unsets it", async () => {
      const baked = await callOk(server.client, "contree_run", {
        image: BUSYBOX,
        command: "true",
        env: { BAKED: "yes", OTHER: "kept" },
        preserve_env: true,
        disposable: false
      })
      const image = baked["result_image"] as string
      expect(image).toMatch(/^[0-9a-f-]{36}$/)
      const later = await callOk(server.client, "contree_run", { image, command: "echo ${BAKED:-unset} ${OTHER:-unset}" })
      expect(later["stdout"]).toBe("yes kept\n")
      // Baking what is already baked, with no file changed, is no change: the same image comes back.
      const again = await callOk(server.client, "contree_run", { image, command: "true", preserve_env: true, disposable: false })
      expect(again["result_image"]).toBe(image)
      const unset = await callOk(server.client, "contree_run", { image, command: "echo ${BAKED:-unset} ${OTHER:-unset}", env: { BAKED: null } })
      expect(unset["stdout"]).toBe("unset kept\n")
      // Without preserve_env nothing is baked: a later run on the result does not see the variable.
      const plain = await callOk(server.client, "contree_run", { image: BUSYBOX, command: "touch /x", env: { BAKED: "no" }, disposable: false })
      expect((await callOk(server.client, "contree_run", { image: plain["result_image"], command: "echo ${BAKED:-unset}" }))["stdout"]).toBe("unset\n")
    })

    it("contree_run max_layer_bytes: changes over the cap fail the run with a clear error and save no image", async () => {
      const over = await callOk(server.client, "contree_run", {
        image: BUSYBOX,
        command: "head -c 20000 /dev/zero > /big",
        disposable: false,
        max_layer_bytes: 10000
      })
      expect(over["status"]).toBe("FAILED")
      expect(over["result_image"]).toBeNull()
      expect(String(over["error"])).toContain("max_layer_bytes")
      const under = await callOk(server.client, "contree_run", { image: BUSYBOX, command: "echo small > /small", disposable: false, max_layer_bytes: 10000 })
      expect(under["status"]).toBe("SUCCESS")
      expect(under["result_image"]).toMatch(/^[0-9a-f-]{36}$/)
    })
  })
}
