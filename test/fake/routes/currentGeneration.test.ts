/** The fake's current generation (and a server that speaks only one generation). */
import { createHash } from "node:crypto"
import tar from "tar-stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../FakeContreeApi.js"

const servers: FakeContreeApi[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

const start = async (options: Parameters<typeof startFakeContreeApi>[0]) => {
  const api = await startFakeContreeApi(options)
  servers.push(api)
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${api.url}/v1${path}`, { ...init, headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json", ...init.headers } })
  const json = async (path: string, init: RequestInit = {}) => (await request(path, init)).json() as Promise<any>
  const spawn = async (body: Record<string, unknown>) =>
    (await json("/instances", { method: "POST", body: JSON.stringify({ image: "tag:busybox:latest", shell: true, ...body }) })).uuid as string
  const finished = async (uuid: string) => {
    for (;;) {
      const op = await json(`/operations/${uuid}`)
      if (["SUCCESS", "FAILED", "CANCELLED"].includes(op.status)) return op
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  return { api, request, json, spawn, finished }
}

/** Parses an SSE body into frames (comments kept as `comment`). */
const frames = (text: string) =>
  text.split("\n\n").filter((block) => block !== "").map((block) => {
    const frame: Record<string, string> = {}
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) frame.comment = line.slice(1).trim()
      else {
        const at = line.indexOf(":")
        frame[line.slice(0, at)] = line.slice(at + 1).trim()
      }
    }
    return frame
  })

let current: Awaited<ReturnType<typeof start>>
let legacy: Awaited<ReturnType<typeof start>>
beforeAll(async () => {
  current = await start({ generation: "current", keepaliveMs: 20, pendingMs: 30, executingMs: 10 })
  legacy = await start({ generation: "legacy" })
})

describe("fake, generation current", () => {
  it("files: by path (GET and HEAD), a listing whatever the query, HEAD /files 'no route'", async () => {
    const bytes = Buffer.from("hello current")
    const sha = createHash("sha256").update(bytes).digest("hex")
    const uploaded = await current.json("/files", { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream" } })
    const file = await current.json(`/files/${sha}`)
    expect(file).toEqual({ uuid: uploaded.uuid, sha256: sha, size: bytes.length, created_at: expect.any(String), updated_at: expect.any(String) })
    expect((await current.request(`/files/${sha}`, { method: "HEAD" })).status).toBe(200)
    expect((await current.request(`/files/${"0".repeat(64)}`, { method: "HEAD" })).status).toBe(404)
    expect(await current.json(`/files?sha256=${"0".repeat(64)}`)).toEqual({ files: [file] })
    const head = await current.request(`/files?sha256=${sha}`, { method: "HEAD" })
    expect(head.status).toBe(404)
  })

  it("whoami answers the WhoAmIResponse shape", async () => {
    expect(await current.json("/whoami")).toEqual({
      token_uuid: expect.any(String),
      token_expiration: null,
      permissions: { list: true, spawn: true, spawn_disposable: true, cancel: true, import: true, set_image_tag: true },
      limits: { instance_max_timeout: 3600, instance_max_concurrency: 8 },
      operations_stat: expect.any(Object)
    })
  })

  it("events: 425 before ready, then a replay with ids ending in completion; Last-Event-Id resumes", async () => {
    const uuid = await current.spawn({ command: "echo out; echo err >&2" })
    const early = await current.request(`/operations/${uuid}/events`)
    expect([early.status, early.headers.get("retry-after")]).toEqual([425, "0"])
    await current.finished(uuid)
    const replay = frames(await (await current.request(`/operations/${uuid}/events`)).text()).filter((f) => f.id !== undefined)
    expect(replay.map((f) => f.event)).toEqual(["init", "spawn", "stdout", "stderr", "exit", "shutdown", "completion"])
    expect(replay.map((f) => Number(f.id))).toEqual([1, 2, 3, 4, 5, 6, 7])
    const stdout = JSON.parse(replay[2]!.data!)
    expect(stdout).toMatchObject({ id: 3, spid: 1, type: "stdout", data: { value: "out\n", encoding: "ascii" } })
    expect(JSON.parse(replay[6]!.data!).data).toMatchObject({ status: "SUCCESS", duration_ms: expect.any(Number) })
    const resumed = frames(await (await current.request(`/operations/${uuid}/events`, { headers: { "last-event-id": "5" } })).text())
    expect(resumed.filter((f) => f.id !== undefined).map((f) => f.event)).toEqual(["shutdown", "completion"])
  })

  it("events, follow=1: output as it is written, keepalives, the stream ends at completion", async () => {
    const uuid = await current.spawn({ command: "echo one; sleep 0.2; echo two" })
    await new Promise((resolve) => setTimeout(resolve, 60))
    const response = await current.request(`/operations/${uuid}/events?follow=1`)
    expect(response.headers.get("content-type")).toBe("text/event-stream")
    const reader = response.body!.getReader()
    let text = ""
    let sawOneBeforeTwo = false
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += Buffer.from(value).toString()
      if (text.includes("one\\n") && !text.includes("two\\n")) sawOneBeforeTwo = true
    }
    expect(sawOneBeforeTwo).toBe(true)
    const all = frames(text)
    expect(all.some((f) => f.comment === "keepalive")).toBe(true)
    expect(all.at(-1)?.event).toBe("completion")
  })

  it("events: an injected sse_error ends a stream after the given events, without an id", async () => {
    const uuid = await current.spawn({ command: "echo x" })
    await current.finished(uuid)
    current.api.breakEventStreams(1, 2)
    const broken = frames(await (await current.request(`/operations/${uuid}/events`)).text())
    expect(broken.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual(["1", "2"])
    expect(broken.at(-1)).toMatchObject({ event: "sse_error", data: "injected stream failure" })
    expect(broken.at(-1)?.id).toBeUndefined()
    const whole = frames(await (await current.request(`/operations/${uuid}/events`)).text())
    expect(whole.at(-1)?.event).toBe("completion")
  })

  it("spawns echo uid/gid/preserve_env/limits/networking; preserve_env bakes env into the result image; null unsets", async () => {
    const first = await current.finished(await current.spawn({
      command: "echo $A-$B",
      env: { A: "1", B: "2" },
      preserve_env: true,
      uid: 1000,
      gid: 100,
      resources_limits: { max_layer_bytes: 1024 },
      networking: { enabled: false }
    }))
    expect(first.metadata).toMatchObject({ uid: 1000, gid: 100, preserve_env: true, resources_limits: { max_layer_bytes: 1024 }, networking: { enabled: false } })
    const image = first.result.image as string
    expect(image).not.toBeNull()
    expect((await current.json(`/inspect/${image}/`)).operation_uuid).toBe(first.uuid)
    const second = await current.finished(await current.spawn({ image, command: "echo $A-$B", env: { B: null } }))
    expect(Buffer.from(second.metadata.result.stdout.value).toString()).toBe("1-\n")
    const plain = await current.finished(await current.spawn({ command: "true" }))
    expect(Object.keys(plain.metadata)).not.toContain("uid")
  })

  it("grep: JS regexes over the image's files, paths, globs with !, max_count, max_total, case, truncated", async () => {
    const image = current.api.addImage({
      files: { "/app/a.py": "import os\nprint('Hello')\nhello = 1\n", "/app/b.txt": "hello there\n", "/app/bin.dat": "hello\0binary", "/etc/x": "hello etc\n" }
    })
    const grep = (query: string) => current.json(`/inspect/${image}/grep?${query}`)
    const all = await grep("pattern=hello")
    expect(all.matches.map((m: { path: string; line_number: number }) => `${m.path}:${m.line_number}`)).toEqual(["/app/a.py:2", "/app/a.py:3", "/app/b.txt:1", "/etc/x:1"])
    expect(all.truncated).toBe(false)
    expect(all.matches[0]).toMatchObject({ line_text: "print('Hello')", submatches: [{ text: "Hello", start: 7, end: 12 }], type: "match" })
    expect((await grep("pattern=Hello")).matches).toHaveLength(1)
    expect((await grep("pattern=Hello&case=insensitive")).matches).toHaveLength(4)
    expect((await grep("pattern=hello&path=/app&glob=*.py")).matches).toHaveLength(2)
    expect((await grep("pattern=hello&path=/app&glob=!*.py")).matches.map((m: { path: string }) => m.path)).toEqual(["/app/b.txt"])
    expect((await grep("pattern=hello&max_count=1&path=/app")).matches).toHaveLength(2)
    const capped = await grep("pattern=hello&max_total=2")
    expect([capped.matches.length, capped.truncated]).toEqual([2, true])
    expect((await grep("pattern=import&pattern=there&path=/app")).patterns).toEqual(["import", "there"])
    expect((await current.request(`/inspect/${image}/grep`)).status).toBe(400)
  })

  it("archive: a PAX tar of a directory, names relative to the root; 404 for a missing path", async () => {
    const image = current.api.addImage({ files: { "/etc/hosts": "127.0.0.1 localhost\n", "/etc/app/conf": { content: "x=1\n", mode: 0o600 } } })
    const response = await current.request(`/inspect/${image}/archive?path=/etc`)
    expect(response.headers.get("content-type")).toBe("application/x-tar")
    const extract = tar.extract()
    const seen: Record<string, string> = {}
    const done = new Promise<void>((resolve, reject) => {
      extract.on("entry", (header, stream, next) => {
        const chunks: Buffer[] = []
        stream.on("data", (c: unknown) => void chunks.push(Buffer.from(c as Uint8Array)))
        stream.on("end", () => {
          seen[`${header.type} ${header.name}`] = Buffer.concat(chunks).toString()
          next()
        })
      })
      extract.on("finish", resolve)
      extract.on("error", reject)
    })
    extract.end(Buffer.from(await response.arrayBuffer()))
    await done
    expect(seen).toEqual({ "directory etc": "", "directory etc/app": "", "file etc/app/conf": "x=1\n", "file etc/hosts": "127.0.0.1 localhost\n" })
    expect((await current.request(`/inspect/${image}/archive?path=/nope`)).status).toBe(404)
    expect((await current.request(`/inspect/${image}/archive?path=/etc`, { method: "HEAD" })).status).toBe(200)
  })
})

describe("fake, generation legacy", () => {
  it("has no file paths, no event stream, and lists operations as {operations}", async () => {
    const bytes = Buffer.from("hello legacy")
    const sha = createHash("sha256").update(bytes).digest("hex")
    const uploaded = await legacy.json("/files", { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream" } })
    expect((await legacy.request(`/files/${sha}`)).status).toBe(404)
    expect(await legacy.json(`/files?sha256=${sha}`)).toMatchObject({ uuid: uploaded.uuid, sha256: sha })
    expect((await legacy.request(`/files?uuid=${uploaded.uuid}`, { method: "HEAD" })).status).toBe(200)
    const uuid = await legacy.spawn({ command: "true" })
    expect((await legacy.request(`/operations/${uuid}/events`)).status).toBe(404)
    expect(await legacy.json("/operations")).toEqual({ operations: [expect.objectContaining({ uuid })] })
    expect((await legacy.request(`/inspect/${uploaded.uuid}/grep?pattern=x`)).status).toBe(404)
  })
})
