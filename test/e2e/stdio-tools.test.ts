// Each tool over stdio against the fake API: what it returns, and what it did to the fake.
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callError, callOk, type Connected, connectStdio, waitFor, toolNames } from "./harness.js"

const guideSections = ["async", "errors", "quickstart", "reference", "state", "tagging", "workflow"]

let fake: FakeContreeApi
let server: Connected
let scratch: string
const busyboxUuid = () => [...fake.state.images.values()].find((image) => image.tag === "busybox:latest")!.uuid
const pythonUuid = () => [...fake.state.images.values()].find((image) => image.tag === "python:3.11")!.uuid
const requestsTo = (method: string, path: string) => fake.requests.filter((r) => r.method === method && r.path === path)

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
  server = await connectStdio({ url: fake.url, token: fake.token })
  scratch = mkdtempSync(join(tmpdir(), "contree-e2e-tools-"))
  // Listing the tools makes the SDK client check every structured result against its output schema.
  await server.client.listTools()
})

afterAll(async () => {
  await server?.close()
  await fake?.close()
  rmSync(scratch, { recursive: true, force: true })
})

describe("tool list", () => {
  it("offers exactly the tools of the harness list, each with an object input and output schema", async () => {
    const { tools } = await server.client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual([...toolNames].sort())
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object")
      expect(tool.outputSchema?.type).toBe("object")
      expect(tool.description?.length ?? 0).toBeGreaterThan(20)
    }
  })
})

describe("contree_run", () => {
  it("runs a shell command and reports exit code, stdout and stderr", async () => {
    const result = await callOk(server.client, "contree_run", {
      command: "echo out; echo err >&2; exit 3",
      image: "tag:busybox:latest"
    })
    expect(result).toMatchObject({
      kind: "instance",
      status: "SUCCESS",
      image: busyboxUuid(),
      exit_code: 3,
      timed_out: false,
      stdout: "out\n",
      stderr: "err\n",
      stdout_truncated: false,
      result_image: null
    })
    const op = fake.state.operations.get(result.operation_id)
    expect(op?.status).toBe("SUCCESS")
    expect(op?.metadata).toMatchObject({ command: "echo out; echo err >&2; exit 3", image: busyboxUuid(), shell: true, disposable: true })
  })

  it("passes env and cwd to the command", async () => {
    const result = await callOk(server.client, "contree_run", {
      command: "echo $GREETING-$OTHER; pwd",
      image: busyboxUuid(),
      env: { GREETING: "hello", OTHER: "world" },
      cwd: "/tmp"
    })
    expect(result.stdout).toBe("hello-world\n/tmp\n")
    expect(fake.state.operations.get(result.operation_id)?.metadata).toMatchObject({ env: { GREETING: "hello", OTHER: "world" }, cwd: "/tmp" })
  })

  it("defaults cwd to /root", async () => {
    const result = await callOk(server.client, "contree_run", { command: "pwd", image: busyboxUuid() })
    expect(result.stdout).toBe("/root\n")
  })

  it("feeds stdin to the command", async () => {
    const result = await callOk(server.client, "contree_run", {
      command: "cat",
      image: busyboxUuid(),
      stdin: "line one\nline two ü\n"
    })
    expect(result.stdout).toBe("line one\nline two ü\n")
  })

  it("places files uploaded with contree_upload at the paths of the files map", async () => {
    const upload = await callOk(server.client, "contree_upload", { content: "payload for the files map\n" })
    const result = await callOk(server.client, "contree_run", {
      command: "cat /data/in/input.txt; ls /data/in",
      image: busyboxUuid(),
      files: { "/data/in/input.txt": upload.uuid }
    })
    expect(result.exit_code).toBe(0)
    expect(result.stdout).toBe("payload for the files map\ninput.txt\n")
    const spawn = requestsTo("POST", "/v1/instances").at(-1)?.json as { files: Record<string, { uuid: string }> }
    expect(spawn.files["/data/in/input.txt"]?.uuid).toBe(upload.uuid)
  })

  it("returns output that is not UTF-8 as base64", async () => {
    const result = await callOk(server.client, "contree_run", { command: "printf '\\xff\\xfe\\x00'", image: busyboxUuid() })
    expect(result.exit_code).toBe(0)
    expect(result.stdout_encoding).toBe("base64")
    expect([...Buffer.from(result.stdout as string, "base64")]).toEqual([0xff, 0xfe, 0x00])
    expect(result.stderr_encoding).toBeUndefined()
  })

  it("cuts output at truncate_output_at and says so", async () => {
    const result = await callOk(server.client, "contree_run", {
      command: "seq 10000",
      image: busyboxUuid(),
      truncate_output_at: 100
    })
    expect(result.stdout_truncated).toBe(true)
    expect((result.stdout as string).length).toBeLessThanOrEqual(100)
    expect((result.stdout as string).startsWith("1\n2\n3\n")).toBe(true)
    expect(result.stdout_encoding).toBeUndefined()
    expect(result.stderr_truncated).toBe(false)
    expect(fake.state.operations.get(result.operation_id)?.metadata).toMatchObject({ truncate_output_at: 100 })
  })

  it("reports a command killed by its timeout as timed_out with exit code -1", async () => {
    const result = await callOk(server.client, "contree_run", { command: "sleep 20; echo never", image: busyboxUuid(), timeout: 1 })
    expect(result.status).toBe("SUCCESS")
    expect(result.timed_out).toBe(true)
    expect(result.exit_code).toBe(-1)
    expect(result.stdout).toBe("")
    expect(fake.state.operations.get(result.operation_id)?.metadata).toMatchObject({ timeout: 1 })
  })

  it("with wait=false returns the operation id at once; contree_get_operation then shows the outcome", async () => {
    // A command that would outlast the test proves the answer did not wait for it.
    const running = await callOk(server.client, "contree_run", { command: "sleep 30", image: busyboxUuid(), wait: false })
    expect(running).toEqual({ operation_id: running.operation_id, kind: "instance", status: "PENDING" })
    expect(["PENDING", "EXECUTING"]).toContain(fake.state.operations.get(running.operation_id)?.status)
    const current = await callOk(server.client, "contree_get_operation", { operation_id: running.operation_id })
    expect(current.operation_id).toBe(running.operation_id)
    expect(["PENDING", "ASSIGNED", "EXECUTING"]).toContain(current.status)
    expect(current.exit_code).toBeUndefined()
    await callOk(server.client, "contree_cancel_operation", { operation_id: running.operation_id })

    const quick = await callOk(server.client, "contree_run", { command: "echo later", image: busyboxUuid(), wait: false })
    expect(quick.status).toBe("PENDING")
    const done = await waitFor("the operation to succeed", async () => {
      const op = await callOk(server.client, "contree_get_operation", { operation_id: quick.operation_id })
      return op.status === "SUCCESS" ? op : undefined
    })
    expect(done).toMatchObject({ operation_id: quick.operation_id, status: "SUCCESS", exit_code: 0, stdout: "later\n", image: busyboxUuid() })
    expect(typeof done.duration).toBe("number")
  })
})

describe("contree_list_images", () => {
  let untagged: string
  beforeAll(() => {
    untagged = fake.addImage({ files: { "/marker": "untagged" } })
  })

  it("lists the images, newest first", async () => {
    const { images } = await callOk(server.client, "contree_list_images")
    const uuids = images.map((i: { uuid: string }) => i.uuid)
    expect(uuids).toContain(busyboxUuid())
    expect(uuids).toContain(untagged)
    const times = images.map((i: { created_at: string }) => Date.parse(i.created_at))
    expect(times).toEqual([...times].sort((a, b) => b - a))
  })

  it("filters by tag_prefix", async () => {
    const { images } = await callOk(server.client, "contree_list_images", { tag_prefix: "python" })
    expect(images.map((i: { tag: string }) => i.tag)).toEqual(["python:3.11"])
    expect(requestsTo("GET", "/v1/images").at(-1)?.query["tag"]).toBe("python")
  })

  it("filters tagged and untagged images", async () => {
    const tagged = (await callOk(server.client, "contree_list_images", { tagged: true })).images
    expect(tagged.length).toBeGreaterThanOrEqual(3)
    expect(tagged.every((i: { tag: string | null }) => i.tag !== null)).toBe(true)
    const bare = (await callOk(server.client, "contree_list_images", { tagged: false })).images
    expect(bare.map((i: { uuid: string }) => i.uuid)).toContain(untagged)
    expect(bare.every((i: { tag: string | null }) => i.tag === null)).toBe(true)
  })

  it("honours limit", async () => {
    const { images } = await callOk(server.client, "contree_list_images", { limit: 2 })
    expect(images).toHaveLength(2)
  })
})

describe("contree_get_image", () => {
  it("gets an image by uuid", async () => {
    const image = await callOk(server.client, "contree_get_image", { image: pythonUuid() })
    expect(image).toMatchObject({ uuid: pythonUuid(), tag: "python:3.11" })
    expect(Number.isNaN(Date.parse(image.created_at))).toBe(false)
  })

  it("gets an image by tag:", async () => {
    const image = await callOk(server.client, "contree_get_image", { image: "tag:python:3.11" })
    expect(image).toMatchObject({ uuid: pythonUuid(), tag: "python:3.11" })
  })
})

describe("contree_set_tag", () => {
  it("sets, moves and removes a tag", async () => {
    const first = fake.addImage({ files: { "/a": "1" } })
    const second = fake.addImage({ files: { "/b": "2" } })
    const tag = "e2e/set-tag/demo:v1"

    const set = await callOk(server.client, "contree_set_tag", { image_uuid: first, tag })
    expect(set).toMatchObject({ uuid: first, tag })
    expect(fake.state.images.get(first)?.tag).toBe(tag)
    expect((await callOk(server.client, "contree_get_image", { image: `tag:${tag}` })).uuid).toBe(first)

    const moved = await callOk(server.client, "contree_set_tag", { image_uuid: second, tag })
    expect(moved).toMatchObject({ uuid: second, tag })
    expect(fake.state.images.get(second)?.tag).toBe(tag)
    expect(fake.state.images.get(first)?.tag).toBeNull()
    expect((await callOk(server.client, "contree_get_image", { image: first })).tag).toBeNull()
    expect((await callOk(server.client, "contree_get_image", { image: `tag:${tag}` })).uuid).toBe(second)

    const removed = await callOk(server.client, "contree_set_tag", { image_uuid: second })
    expect(removed).toMatchObject({ uuid: second, tag: null })
    expect(fake.state.images.get(second)?.tag).toBeNull()
    expect(requestsTo("DELETE", `/v1/images/${second}/tag`)).toHaveLength(1)
    expect(await callError(server.client, "contree_get_image", { image: `tag:${tag}` })).toContain(tag)
  })

  it("removes a tag when given an empty one", async () => {
    const image = fake.addImage({ tag: "e2e/set-tag/empty:v1" })
    const removed = await callOk(server.client, "contree_set_tag", { image_uuid: image, tag: "" })
    expect(removed).toMatchObject({ uuid: image, tag: null })
    expect(fake.state.images.get(image)?.tag).toBeNull()
  })
})

describe("contree_list_files", () => {
  it("lists a directory with names, types, sizes, modes and symlink targets", async () => {
    const listing = await callOk(server.client, "contree_list_files", { image: "tag:busybox:latest", path: "/bin" })
    expect(listing.path).toBe("/bin")
    expect(listing.count).toBe(listing.files.length)
    const byName = Object.fromEntries(listing.files.map((f: { name: string }) => [f.name, f]))
    expect(byName["busybox"]).toMatchObject({ type: "file", size: "\x7fELF fake busybox binary\n".length, mode: "0o100755", target: null })
    expect(byName["sh"]).toMatchObject({ type: "symlink", target: "busybox" })
  })

  it("lists the root by default", async () => {
    const listing = await callOk(server.client, "contree_list_files", { image: busyboxUuid() })
    expect(listing.path).toBe("/")
    const types = Object.fromEntries(listing.files.map((f: { name: string; type: string }) => [f.name, f.type]))
    expect(types).toMatchObject({ etc: "directory", bin: "directory", root: "directory", tmp: "directory" })
  })
})

describe("contree_read_file", () => {
  it("reads a text file as UTF-8", async () => {
    const file = await callOk(server.client, "contree_read_file", { image: "tag:busybox:latest", path: "/etc/os-release" })
    expect(file.encoding).toBe("utf-8")
    expect(file.content).toContain('NAME="BusyBox"')
    expect(file.bytes_size).toBe(Buffer.byteLength(file.content))
    expect(file.path).toBe("/etc/os-release")
  })

  it("reads a binary file as base64", async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41])
    const image = fake.addImage({ files: { "/data/blob.bin": bytes } })
    const file = await callOk(server.client, "contree_read_file", { image, path: "/data/blob.bin" })
    expect(file.encoding).toBe("base64")
    expect(Buffer.from(file.content, "base64").equals(bytes)).toBe(true)
    expect(file.bytes_size).toBe(bytes.length)
  })
})

describe("contree_upload", () => {
  it("uploads content, content_base64 and a path; identical bytes are sent once and share a uuid", async () => {
    const text = `dedup me ${Date.now()}\n`
    const sha256 = createHash("sha256").update(text).digest("hex")
    const postsBefore = requestsTo("POST", "/v1/files").length

    const fromText = await callOk(server.client, "contree_upload", { content: text })
    expect(fromText).toEqual({ uuid: fromText.uuid, sha256, size: Buffer.byteLength(text) })
    expect(fake.state.files.get(fromText.uuid)?.content.toString("utf8")).toBe(text)

    const fromBase64 = await callOk(server.client, "contree_upload", { content_base64: Buffer.from(text).toString("base64") })
    expect(fromBase64.uuid).toBe(fromText.uuid)

    const local = join(scratch, "upload.txt")
    writeFileSync(local, text)
    const fromPath = await callOk(server.client, "contree_upload", { path: local })
    expect(fromPath.uuid).toBe(fromText.uuid)
    expect(fromPath.sha256).toBe(sha256)

    expect(requestsTo("POST", "/v1/files").length - postsBefore).toBe(1)
  })

  it("uploads different bytes as a different file, streamed from a path", async () => {
    const bytes = Buffer.from([1, 2, 3, 0xff, 0, 9])
    const local = join(scratch, "upload.bin")
    writeFileSync(local, bytes)
    const postsBefore = requestsTo("POST", "/v1/files").length
    const uploaded = await callOk(server.client, "contree_upload", { path: local })
    expect(uploaded.size).toBe(bytes.length)
    expect(fake.state.files.get(uploaded.uuid)?.content.equals(bytes)).toBe(true)
    expect(requestsTo("POST", "/v1/files").length - postsBefore).toBe(1)
  })

  it("refuses zero or several sources", async () => {
    expect(await callError(server.client, "contree_upload", {})).toMatch(/exactly one of 'path', 'content' or 'content_base64'/)
    expect(await callError(server.client, "contree_upload", { content: "a", content_base64: "YQ==" })).toMatch(/exactly one/)
  })
})

describe("contree_download", () => {
  const script = "#!/bin/sh\necho downloaded\n"
  let image: string
  beforeAll(() => {
    image = fake.addImage({ files: { "/opt/tool.sh": script, "/opt/data.bin": Buffer.from([0xde, 0xad, 0xbe, 0xef]) } })
  })

  it("writes to an absolute path, creating parents, with the executable bit when asked", async () => {
    const destination = join(scratch, "dl", "nested", "deeper", "tool.sh")
    const result = await callOk(server.client, "contree_download", { image, path: "/opt/tool.sh", destination, executable: true })
    expect(result).toEqual({
      success: true,
      source: { image, path: "/opt/tool.sh" },
      destination,
      kind: "file",
      size: Buffer.byteLength(script),
      executable: true
    })
    expect(readFileSync(destination, "utf8")).toBe(script)
    expect(statSync(destination).mode & 0o111).not.toBe(0)
    // Written beside the destination and renamed: nothing else is left in the directory.
    expect(readdirSync(join(scratch, "dl", "nested", "deeper"))).toEqual(["tool.sh"])
  })

  it("writes a non-executable file by default, byte for byte", async () => {
    const destination = join(scratch, "dl", "data.bin")
    const result = await callOk(server.client, "contree_download", { image, path: "/opt/data.bin", destination })
    expect(result.size).toBe(4)
    expect(readFileSync(destination).equals(Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toBe(true)
    expect(statSync(destination).mode & 0o111).toBe(0)
  })

  it("leaves an existing destination untouched when the download fails", async () => {
    const dir = join(scratch, "dl-fail")
    const destination = join(dir, "keep.txt")
    await callOk(server.client, "contree_download", { image, path: "/opt/tool.sh", destination })
    writeFileSync(destination, "previous content")
    const error = await callError(server.client, "contree_download", { image, path: "/opt/missing", destination })
    expect(error).toMatch(/404|not found/i)
    expect(readFileSync(destination, "utf8")).toBe("previous content")
    expect(readdirSync(dir)).toEqual(["keep.txt"])
  })
})

describe("contree_get_guide", () => {
  it("returns each of the 7 sections", async () => {
    const contents = new Set<string>()
    for (const section of guideSections) {
      const guide = await callOk(server.client, "contree_get_guide", { section })
      expect(guide.section).toBe(section)
      expect(guide.available_sections).toEqual(guideSections)
      expect(guide.content.length).toBeGreaterThan(100)
      contents.add(guide.content)
    }
    expect(contents.size).toBe(7)
  })

  it("answers an unknown section with an error listing the sections", async () => {
    const error = await callError(server.client, "contree_get_guide", { section: "nonsense" })
    expect(error).toContain("nonsense")
    for (const section of guideSections) expect(error).toContain(section)
  })
})
