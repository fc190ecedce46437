// The import cap end to end: the built server on the local backend, capped at 16 MiB, refuses a
// rootfs tarball that unpacks to 64 MiB from a few kilobytes of gzip, and keeps no part of it.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tarBytes } from "../support/ociImages.js"
import { callOk, type Connected, connectLocal } from "./harness.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const describeLocal = bwrapInstalled ? describe : describe.skip
const MiB = 1024 * 1024

describeLocal("the import cap", () => {
  let dataDir: string
  let work: string
  let server: Connected

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-cap-"))
    work = mkdtempSync(join(tmpdir(), "contree-e2e-cap-work-"))
    writeFileSync(join(work, "bomb.tar.gz"), gzipSync(await tarBytes([{ name: "zeros", content: Buffer.alloc(64 * MiB) }])))
    writeFileSync(join(work, "small.tar.gz"), gzipSync(await tarBytes([{ name: "etc/hostname", content: "small" }])))
    server = await connectLocal({ dataDir, extraEnv: { CONTREE_MCP_MAX_IMPORT_BYTES: "16M" } })
  })

  afterAll(async () => {
    await server?.close()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(work, { recursive: true, force: true })
  })

  it("stops a gzip bomb at the cap, leaving no layer, and still imports what fits", async () => {
    const layersBefore = readdirSync(join(dataDir, "sandbox", "layers")).sort()
    const bomb = await callOk(server.client, "contree_import_image", { registry_url: `tarball:${join(work, "bomb.tar.gz")}` })
    expect(bomb.status).toBe("FAILED")
    expect(bomb.error).toContain(`the image unpacks to more than ${16 * MiB} bytes`)
    expect(readdirSync(join(dataDir, "sandbox", "layers")).sort()).toEqual(layersBefore)
    expect(readdirSync(join(dataDir, "tmp"))).toEqual([])

    const small = await callOk(server.client, "contree_import_image", { registry_url: `tarball:${join(work, "small.tar.gz")}` })
    expect(small.status).toBe("SUCCESS")
  })
})
