// contree_import_image on the local engine, end to end, in process and through `contree-mcp serve`:
// the built server over stdio imports an oci-archive written here, then runs in the result and reads
// its files through the tools.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { imageConfig, ociLayout, tarBytes, tarOfFiles, twoLayers } from "../support/ociImages.js"
import { callOk, type Connected, engineBackends } from "./harness.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const describeLocal = bwrapInstalled ? describe : describe.skip

let dataDir: string
let work: string
let server: Connected
let archive: string

/** A shell for the image: the host's static busybox (as the offline base image has it) as /bin/sh, cat, ls and pwd. */
const busyboxLayer = async () =>
  gzipSync(await tarBytes([
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", content: readFileSync("/bin/busybox"), mode: 0o755 },
    ...["sh", "cat", "ls", "pwd", "test", "echo"].map((name) => ({ name: `bin/${name}`, type: "symlink" as const, linkname: "busybox" }))
  ]))

const run = (image: string, args: Record<string, unknown>) => callOk(server.client, "contree_run", { image, ...args })

for (const backend of engineBackends) {
  describeLocal(backend.name, () => {
    let stop: () => Promise<void> = async () => undefined

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-import-"))
      work = mkdtempSync(join(tmpdir(), "contree-e2e-archive-"))
      const layout = ociLayout({
        layers: [await busyboxLayer(), ...await twoLayers()],
        config: imageConfig({ Env: ["PATH=/bin", "GREETING=from-config"], WorkingDir: "/app" })
      }, "v1")
      archive = join(work, "image.tar")
      writeFileSync(archive, await tarOfFiles(layout.files))
      ;({ server, stop } = await backend.connect(dataDir))
    })

    afterAll(async () => {
      await stop()
      for (const dir of [dataDir, work]) rmSync(dir, { recursive: true, force: true })
    })

    describe("importing an oci-archive", () => {
      let image: string

      it("imports it with progress notifications, tagged", async () => {
        const progress: Array<number> = []
        const result = (await server.client.callTool(
          { name: "contree_import_image", arguments: { registry_url: `oci-archive:${archive}:v1`, tag: "e2e/imported:1" } },
          undefined,
          { onprogress: (notification) => void progress.push(notification.progress) }
        )) as CallToolResult
        expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
        const view = result.structuredContent as Record<string, any>
        expect(view).toMatchObject({ status: "SUCCESS" })
        image = view["result_image"]
        expect(image).toEqual(expect.any(String))
        // In process the engine reports bytes as they arrive; through serve, progress is what polling sees, maybe nothing for a quick import.
        if (backend.inProcess) expect(progress.length).toBeGreaterThan(0)
        // MCP requires progress to increase.
        for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]!)
        const tagged = await callOk(server.client, "contree_get_image", { image: "tag:e2e/imported:1" })
        expect(JSON.stringify(tagged)).toContain(image)
      })

      it("shows the second layer's deletion, addition and opaque directory to the file tools", async () => {
        const names = async (path: string) =>
          ((await callOk(server.client, "contree_list_files", { image, path })).files as Array<{ name: string }>).map((f) => f.name)
        expect(await names("/etc")).toEqual(["added.txt", "conf.d", "kept.txt"])
        expect(await names("/etc/conf.d")).toEqual(["new.conf"])
        expect((await callOk(server.client, "contree_read_file", { image, path: "/etc/added.txt" })).content).toBe("added")
      })

      it("runs in the image with its config's Env and WorkingDir, which the request overrides", async () => {
        const script = "echo \"$GREETING\"; pwd; cat /etc/kept.txt; echo; ls /etc/conf.d; test -e /etc/removed.txt || echo removed-is-gone"
        const defaults = await run(image, { command: script })
        expect(defaults).toMatchObject({ status: "SUCCESS", exit_code: 0 })
        expect(defaults["stdout"]).toBe("from-config\n/app\nkept\nnew.conf\nremoved-is-gone\n")
        const overridden = await run(image, { command: "echo \"$GREETING\"; pwd", cwd: "/etc", env: { GREETING: "from-request" } })
        expect(overridden["stdout"]).toBe("from-request\n/etc\n")
      })

      it("keeps the config for images committed on it, and gives the same image back on a re-import", async () => {
        const committed = await run(image, { command: "echo more > /app/more", disposable: false })
        expect(committed["result_image"]).toEqual(expect.any(String))
        const child = await run(committed["result_image"], { command: "echo \"$GREETING\"; pwd; cat more" })
        expect(child["stdout"]).toBe("from-config\n/app\nmore\n")
        const again = await callOk(server.client, "contree_import_image", { registry_url: `oci-archive:${archive}:v1` })
        expect(again).toMatchObject({ status: "SUCCESS", result_image: image })
      })
    })
  })
}
