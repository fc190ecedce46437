// `contree-mcp serve` over plain HTTP: the token, the Host guard, the API's status codes, redirects,
// HEAD checks and error body, bad input, and many spawns at once. The MCP tools through it are
// covered by local.test.ts, which runs its whole suite through serve too.
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { imageConfig, ociLayout, tarOfFiles, twoLayers } from "../support/ociImages.js"
import { type ServeApi, startServeApi, waitFor } from "./harness.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const describeServe = bwrapInstalled ? describe : describe.skip

let dataDir: string
let api: ServeApi

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: () => any
}

const call = async (method: string, path: string, options: { body?: string | Uint8Array; token?: string | null } = {}): Promise<Answer> => {
  const token = options.token === undefined ? api.token : options.token
  const response = await fetch(`${api.url}/v1${path}`, {
    method,
    redirect: "manual",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` })
    },
    ...(options.body === undefined ? {} : { body: options.body })
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) }
}

/** A request with a Host header of our choosing (fetch does not let one set it). */
const withHost = (host: string, path: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: api.port, path: `/v1${path}`, headers: { host, authorization: `Bearer ${api.token}` } }, (res) => {
      let body = ""
      res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })

const busybox = async (): Promise<string> => (await call("GET", "/images?tag=busybox:latest")).json().images[0].uuid

beforeAll(async () => {
  if (!bwrapInstalled) return
  dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-serve-"))
  api = await startServeApi({ dataDir })
})

afterAll(async () => {
  await api?.stop()
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

describeServe("contree-mcp serve: the token", () => {
  it("is generated at the first start, stored 0600 in the data dir, and shown on stderr that once", async () => {
    expect(statSync(join(dataDir, "serve-token")).mode & 0o777).toBe(0o600)
    expect(api.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(api.stderr().split(api.token)).toHaveLength(2)

    const again = await startServeApi({ dataDir })
    try {
      expect(again.token).toBe(api.token)
      expect(again.stderr()).not.toContain(api.token)
      expect(again.stderr()).toContain(join(dataDir, "serve-token"))
    } finally {
      await again.stop()
    }
  })

  it("comes from CONTREE_MCP_SERVE_TOKEN when set, which the token file does not override", async () => {
    const token = `env-token-${Date.now()}`
    const other = await startServeApi({ dataDir, token })
    try {
      const ok = await fetch(`${other.url}/v1/images`, { headers: { authorization: `Bearer ${token}` } })
      expect(ok.status).toBe(200)
      const fileToken = await fetch(`${other.url}/v1/images`, { headers: { authorization: `Bearer ${api.token}` } })
      expect(fileToken.status).toBe(401)
      expect(other.stderr()).not.toContain(token)
    } finally {
      await other.stop()
    }
  })

  it("a wrong, missing or malformed token gets 401 with the API's error body", async () => {
    for (const token of ["wrong", `${api.token}x`, api.token.slice(0, -1), null]) {
      const answer = await call("GET", "/images", { token })
      expect(answer.status).toBe(401)
      expect(answer.json()).toEqual({ error: expect.stringMatching(/bearer token/), status: 401 })
      expect(answer.text).not.toContain(api.token)
    }
    const basic = await fetch(`${api.url}/v1/images`, { headers: { authorization: `Basic ${api.token}` } })
    expect(basic.status).toBe(401)
    expect((await call("GET", "/images")).status).toBe(200)
  })
})

describeServe("contree-mcp serve: the Host guard", () => {
  it("refuses a foreign Host with 403, and serves loopback names", async () => {
    for (const host of ["evil.example", "evil.example:80", "10.0.0.1", `attacker.test:${api.port}`]) {
      const answer = await withHost(host, "/images")
      expect(answer.status).toBe(403)
      expect(JSON.parse(answer.body)).toEqual({ error: expect.stringMatching(/Host/), status: 403 })
    }
    for (const host of [`127.0.0.1:${api.port}`, `localhost:${api.port}`]) expect((await withHost(host, "/images")).status).toBe(200)
  })
})

describeServe("contree-mcp serve: the API surface", () => {
  it("resolves a tag by a relative 302, and redirects slashless inspect paths", async () => {
    const uuid = await busybox()
    const resolved = await call("GET", "/inspect/?tag=busybox:latest")
    expect(resolved.status).toBe(302)
    expect(resolved.headers.get("location")).toBe(`${uuid}/`)
    expect((await call("GET", `/inspect/${uuid}/`)).json()).toMatchObject({ uuid, tag: "busybox:latest" })
    const slashless = await call("GET", `/inspect/${uuid}`)
    expect(slashless.status).toBe(308)
    expect(slashless.headers.get("location")).toBe(`${uuid}/`)
    expect((await call("GET", "/inspect?tag=busybox:latest")).headers.get("location")).toBe("inspect/?tag=busybox:latest")
    expect((await call("GET", "/inspect/")).json()).toEqual({ error: "tag is required", status: 400 })
    expect((await call("GET", "/inspect/?tag=no-such:tag")).status).toBe(404)
  })

  it("lists directories as JSON and as ls -l text, and answers HEAD with bare statuses", async () => {
    const uuid = await busybox()
    const listing = (await call("GET", `/inspect/${uuid}/list?path=/etc`)).json()
    expect(listing.path).toBe("/etc")
    expect(listing.files.map((f: { path: string }) => f.path)).toContain("os-release")
    const text = await call("GET", `/inspect/${uuid}/list?path=/etc&text=`)
    expect(text.headers.get("content-type")).toMatch(/^text\/plain/)
    expect(text.text).toMatch(/^total /)
    expect(text.text).toMatch(/ os-release$/m)
    expect((await call("GET", `/inspect/${uuid}/download?path=etc/os-release`)).text).toMatch(/^ID=busybox$/m)
    const head = await call("HEAD", `/inspect/${uuid}/download?path=/etc/os-release`)
    expect([head.status, head.text]).toEqual([200, ""])
    expect((await call("HEAD", `/inspect/${uuid}/download?path=/etc/missing`)).status).toBe(404)
    expect((await call("GET", `/inspect/${uuid}/download?path=/etc/missing`)).json()).toEqual({ error: "file not found", status: 404 })
    expect((await call("GET", `/inspect/${uuid}/list?path=/nope`)).json()).toEqual({ error: "Directory not found", status: 404 })
  })

  it("stores a raw upload by its sha256 and finds it by hash and uuid, with GET and HEAD", async () => {
    const bytes = Buffer.from(`upload ${Date.now()}\n`)
    const sha256 = createHash("sha256").update(bytes).digest("hex")
    expect((await call("HEAD", `/files?sha256=${sha256}`)).status).toBe(404)
    const uploaded = await call("POST", "/files", { body: bytes })
    expect(uploaded.status).toBe(201)
    const file = uploaded.json()
    expect(file).toEqual({ uuid: expect.any(String), sha256, size: bytes.length })
    expect((await call("POST", "/files", { body: bytes })).json().uuid).toBe(file.uuid)
    expect((await call("GET", `/files?sha256=${sha256}`)).json()).toEqual(file)
    expect((await call("GET", `/files/${sha256}`)).json()).toEqual(file)
    for (const query of [`sha256=${sha256}`, `uuid=${file.uuid}`]) expect((await call("HEAD", `/files?${query}`)).status).toBe(200)
    expect((await call("HEAD", "/files?uuid=nope")).status).toBe(404)
    expect((await call("GET", "/files?sha256=xyz")).json()).toEqual({ error: expect.stringMatching(/sha256 must be 64 hexadecimal/), status: 400 })
  })

  it("spawns with 201 and Location, cancels with 202, and answers 409 for an operation already over", async () => {
    const spawned = await call("POST", "/instances", { body: JSON.stringify({ command: "sleep 600", image: "tag:busybox:latest", shell: true }) })
    expect(spawned.status).toBe(201)
    const { uuid } = spawned.json()
    expect(spawned.headers.get("location")).toBe(`/v1/operations/${uuid}`)
    await waitFor("the run to start", async () => ((await call("GET", `/operations/${uuid}`)).json().status === "EXECUTING" ? true : undefined))
    expect((await call("DELETE", `/operations/${uuid}`)).status).toBe(202)
    expect((await call("GET", `/operations/${uuid}`)).json()).toMatchObject({ uuid, status: "CANCELLED", kind: "instance" })
    expect((await call("DELETE", `/operations/${uuid}`)).json()).toEqual({ error: "operation is not cancellable", status: 409 })
    expect((await call("GET", "/operations/no-such-operation")).json()).toEqual({ error: "Operation not found", status: 404 })
  })

  it("answers unknown endpoints with 404 in the error shape", async () => {
    expect((await call("GET", "/nothing/here")).json()).toEqual({ error: expect.stringContaining("/nothing/here"), status: 404 })
    expect((await call("PUT", "/images")).status).toBe(404)
  })

  it("imports an oci-archive: 201 with Location, an image_import operation that ends with the image and its tag", async () => {
    const work = mkdtempSync(join(tmpdir(), "contree-e2e-serve-archive-"))
    try {
      const archive = join(work, "image.tar")
      writeFileSync(archive, await tarOfFiles(ociLayout({ layers: await twoLayers(), config: imageConfig() }, "v1").files))
      const tag = `e2e/serve-import:${Date.now()}`
      const started = await call("POST", "/images/import", {
        body: JSON.stringify({ registry: { url: `oci-archive:${archive}:v1`, credentials: { username: "", password: "" } }, tag })
      })
      expect(started.status).toBe(201)
      const { uuid } = started.json()
      expect(started.headers.get("location")).toBe(`/v1/operations/${uuid}`)
      const done = await waitFor("the import to end", async () => {
        const op = (await call("GET", `/operations/${uuid}`)).json()
        return ["SUCCESS", "FAILED", "CANCELLED"].includes(op.status) ? op : undefined
      }, 120_000)
      expect(done).toMatchObject({ uuid, kind: "image_import", status: "SUCCESS", result: { tag } })
      const image = done.result.image as string
      expect((await call("GET", `/inspect/?tag=${encodeURIComponent(tag)}`)).headers.get("location")).toBe(`${image}/`)
      expect((await call("GET", `/inspect/${image}/download?path=/etc/added.txt`)).text).toBe("added")
      expect((await call("GET", "/operations?kind=image_import")).json().map((op: { uuid: string }) => op.uuid)).toContain(uuid)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  })
})

describeServe("contree-mcp serve: bad input", () => {
  it("answers each malformed body with 400 naming the problem, and keeps serving", async () => {
    const uuid = await busybox()
    const bad: ReadonlyArray<readonly [string, string, string, RegExp]> = [
      ["POST", "/instances", "{not json", /not valid JSON/],
      ["POST", "/instances", "", /Expected/],
      ["POST", "/instances", "[1, 2]", /Expected/],
      ["POST", "/instances", JSON.stringify({ image: "tag:busybox:latest" }), /command/],
      ["POST", "/instances", JSON.stringify({ command: 7, image: "tag:busybox:latest" }), /command/],
      ["POST", "/instances", JSON.stringify({ command: "true", image: "tag:busybox:latest", timeout: "soon" }), /timeout/],
      ["POST", "/instances", JSON.stringify({ command: "true", image: "tag:busybox:latest", cwd: "relative" }), /cwd must be an absolute path/],
      ["POST", "/instances", JSON.stringify({ command: "true", image: "tag:busybox:latest", shell: true, args: ["x"] }), /args must be empty/],
      ["POST", "/instances", JSON.stringify({ command: "true", image: "tag:busybox:latest", files: { "/x": { uuid: "u", mode: "rwx" } } }), /mode/],
      ["PATCH", `/images/${uuid}/tag`, "{}", /tag/],
      ["POST", "/images/import", JSON.stringify({ registry: "docker://alpine" }), /registry/],
      ["POST", "/images/import", JSON.stringify({ registry: { url: "docker://alpine" }, timeout: -1.5 }), /timeout/],
      ["PATCH", `/images/${uuid}/tag`, JSON.stringify({ tag: "ends-with:" }), /invalid tag/],
      ["GET", "/images?limit=0", "", /limit must be between 1 and 1000/],
      ["GET", "/images?tagged=maybe", "", /tagged must be one of/],
      ["GET", "/operations?status=DONE", "", /status must be one of/],
      ["GET", "/operations?since=yesterday", "", /since must be/]
    ]
    for (const [method, path, body, message] of bad) {
      const answer = await call(method, path, method === "GET" ? {} : { body })
      expect({ method, path, body, status: answer.status }).toEqual({ method, path, body, status: 400 })
      expect(answer.json()).toEqual({ error: expect.stringMatching(message), status: 400 })
    }
    expect((await call("GET", "/images")).status).toBe(200)
  })

  it("a spawn with only command and image takes the server defaults", async () => {
    const { uuid } = (await call("POST", "/instances", { body: JSON.stringify({ command: "pwd", image: "tag:busybox:latest", result: null }) })).json()
    const done = await waitFor("the run to end", async () => {
      const op = (await call("GET", `/operations/${uuid}`)).json()
      return ["SUCCESS", "FAILED"].includes(op.status) ? op : undefined
    })
    expect(done.metadata).toMatchObject({ command: "pwd", shell: false, cwd: "/root", hostname: "linuxkit", timeout: 60, disposable: false })
    // The whole request is echoed, stdin and files included (spec §2.11).
    expect(done.metadata).toMatchObject({ stdin: { value: "", encoding: "ascii", truncated: false }, files: {}, truncate_output_at: 65536 })
    expect(done.metadata.result.stdout).toEqual({ value: "/root\n", encoding: "ascii", truncated: false })
  })
})

describeServe("contree-mcp serve: many spawns at once", () => {
  it("100 concurrent spawns over HTTP each get an operation, all end, and all are listed", async () => {
    const count = 100
    const answers = await Promise.all(Array.from({ length: count }, (_, i) =>
      call("POST", "/instances", { body: JSON.stringify({ command: `echo spawn-${i}`, image: "tag:busybox:latest", shell: true, disposable: true }) })))
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: count }, () => 201))
    const ids = answers.map((a) => a.json().uuid as string)
    expect(new Set(ids).size).toBe(count)
    const terminal = new Set(["SUCCESS", "FAILED", "CANCELLED"])
    const ended = await waitFor("every spawn to end", async () => {
      const listed = (await call("GET", "/operations?limit=1000")).json() as Array<{ uuid: string; status: string }>
      const ours = listed.filter((op) => ids.includes(op.uuid))
      return ours.length === count && ours.every((op) => terminal.has(op.status)) ? ours : undefined
    }, 300_000)
    expect(ended.map((op) => op.status)).toEqual(Array.from({ length: count }, () => "SUCCESS"))
    for (const [i, id] of ids.entries()) {
      expect((await call("GET", `/operations/${id}`)).json().metadata.result.stdout.value).toBe(`spawn-${i}\n`)
    }
  }, 600_000)
})
