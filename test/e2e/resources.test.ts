// Resources, resource templates and prompts over stdio, including the image a disposable=false
// run leaves behind.
import { McpError } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callOk, type Connected, connectStdio } from "./harness.js"

const guideSections = ["async", "errors", "quickstart", "reference", "state", "tagging", "workflow"]
const promptNames = [
  "prepare-environment",
  "run-python",
  "run-shell",
  "sync-and-run",
  "install-packages",
  "parallel-tasks",
  "build-project",
  "debug-failure",
  "inspect-image",
  "multi-stage-build"
]

let fake: FakeContreeApi
let server: Connected
const busyboxUuid = () => [...fake.state.images.values()].find((image) => image.tag === "busybox:latest")!.uuid

const readText = async (uri: string) => {
  const { contents } = await server.client.readResource({ uri })
  expect(contents).toHaveLength(1)
  const [content] = contents
  expect(content?.uri).toBe(uri)
  if (content === undefined || !("text" in content)) throw new Error(`${uri} has no text`)
  return { text: content.text, mimeType: content.mimeType }
}

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
  server = await connectStdio({ url: fake.url, token: fake.token })
})

afterAll(async () => {
  await server?.close()
  await fake?.close()
})

describe("the image of a disposable=false run", () => {
  let run: Record<string, any>

  beforeAll(async () => {
    run = await callOk(server.client, "contree_run", {
      command: "mkdir -p /work/out && echo built > /work/out/artifact.txt && echo saved",
      image: "tag:busybox:latest",
      disposable: false
    })
  })

  it("is a new image on the server whose parent is the input image", () => {
    expect(run).toMatchObject({ status: "SUCCESS", exit_code: 0, stdout: "saved\n" })
    expect(typeof run.result_image).toBe("string")
    expect(run.result_image).not.toBe(busyboxUuid())
    expect(fake.state.images.get(run.result_image)?.parent).toBe(busyboxUuid())
  })

  it("can be read with contree_read_file and listed with contree_list_files", async () => {
    const file = await callOk(server.client, "contree_read_file", { image: run.result_image, path: "/work/out/artifact.txt" })
    expect(file).toMatchObject({ content: "built\n", encoding: "utf-8", bytes_size: 6 })
    const listing = await callOk(server.client, "contree_list_files", { image: run.result_image, path: "/work/out" })
    expect(listing.files.map((f: { name: string }) => f.name)).toEqual(["artifact.txt"])
    // The input image is untouched.
    const before = await callOk(server.client, "contree_list_files", { image: busyboxUuid(), path: "/" })
    expect(before.files.map((f: { name: string }) => f.name)).not.toContain("work")
  })

  it("has a lineage resource naming its parent", async () => {
    const { text, mimeType } = await readText(`contree://image/${run.result_image}/lineage`)
    expect(mimeType).toBe("application/json")
    const lineage = JSON.parse(text)
    expect(lineage).toMatchObject({ image: run.result_image, parent: busyboxUuid(), is_known: true, depth: 1, root: busyboxUuid() })
    expect(lineage.ancestors).toEqual([busyboxUuid()])
    const parent = JSON.parse((await readText(`contree://image/${busyboxUuid()}/lineage`)).text)
    expect(parent.children).toContain(run.result_image)
  })

  it("is readable through contree://operations/instance/{id}", async () => {
    const { text } = await readText(`contree://operations/instance/${run.operation_id}`)
    const view = JSON.parse(text)
    expect(view).toMatchObject({ state: "SUCCESS", exit_code: 0, timed_out: false, stdout: "saved\n", result_image: run.result_image })
    expect(typeof view.resources).toBe("object")
  })
})

describe("image resources", () => {
  it("reads a file by percent-encoded tag", async () => {
    const { text } = await readText(`contree://image/${encodeURIComponent("tag:busybox:latest")}/read/etc/os-release`)
    expect(text).toContain('NAME="BusyBox"')
  })

  it("reads a file by a tag that contains '/'", async () => {
    fake.addImage({ tag: "e2e/resources/demo:v1", files: { "/hello.txt": "hello from a scoped tag\n" } })
    const { text } = await readText(`contree://image/${encodeURIComponent("tag:e2e/resources/demo:v1")}/read/hello.txt`)
    expect(text).toBe("hello from a scoped tag\n")
  })

  it("marks binary content as base64", async () => {
    const image = fake.addImage({ files: { "/b.bin": Buffer.from([0xff, 0x00, 0xfe]) } })
    const { text } = await readText(`contree://image/${image}/read/b.bin`)
    expect(text).toBe(`base64:${Buffer.from([0xff, 0x00, 0xfe]).toString("base64")}`)
  })

  it("lists the root of an image with ls/.", async () => {
    const { text } = await readText(`contree://image/${busyboxUuid()}/ls/.`)
    const names = text.trim().split("\n").map((line) => line.split(/\s+/).at(-1))
    expect(names).toEqual(expect.arrayContaining(["bin", "etc", "root", "tmp", "usr"]))
    expect(text).toMatch(/^d/m)
  })

  it("answers an unknown tag with an MCP error", async () => {
    await expect(server.client.readResource({ uri: `contree://image/${encodeURIComponent("tag:e2e/none:v0")}/read/x` }))
      .rejects.toThrow(/no image has the tag 'e2e\/none:v0'/)
  })
})

describe("operation resources", () => {
  it("describes an import through contree://operations/import/{id}", async () => {
    const response = await fetch(`${fake.url}/v1/images/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/json" },
      body: JSON.stringify({ registry: { url: "docker://alpine:3.20" }, tag: "e2e/resources/alpine:3.20" })
    })
    expect(response.status).toBe(201)
    const { uuid } = (await response.json()) as { uuid: string }
    await callOk(server.client, "contree_wait_operations", { operation_ids: [uuid] })
    const imported = fake.state.operations.get(uuid)?.result?.image
    expect(typeof imported).toBe("string")

    const { text } = await readText(`contree://operations/import/${uuid}`)
    expect(text.split("\n")).toEqual([
      "STATE: SUCCESS",
      `RESULT_IMAGE: ${imported}`,
      "RESULT_TAG: e2e/resources/alpine:3.20",
      "REGISTRY_URL: docker://alpine:3.20"
    ])
    await expect(server.client.readResource({ uri: `contree://operations/instance/${uuid}` })).rejects.toThrow(/not an instance operation/)
  })
})

describe("listings", () => {
  it("lists the 7 guide resources, each readable as markdown", async () => {
    const { resources } = await server.client.listResources()
    const guides = resources.filter((r) => r.uri.startsWith("contree://guide/"))
    expect(guides.map((r) => r.uri).sort()).toEqual(guideSections.map((s) => `contree://guide/${s}`))
    for (const section of guideSections) {
      const { text, mimeType } = await readText(`contree://guide/${section}`)
      expect(mimeType).toBe("text/markdown")
      expect(text).toBe((await callOk(server.client, "contree_get_guide", { section })).content)
    }
  })

  it("lists the resource templates", async () => {
    const { resourceTemplates } = await server.client.listResourceTemplates()
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      "contree://image/{image}/lineage",
      "contree://image/{image}/ls/{path}",
      "contree://image/{image}/read/{path}",
      "contree://operations/import/{operation_id}",
      "contree://operations/instance/{operation_id}"
    ])
  })

  it("lists the 10 prompts and renders one", async () => {
    const { prompts } = await server.client.listPrompts()
    expect(prompts.map((p) => p.name).sort()).toEqual([...promptNames].sort())
    const runShell = prompts.find((p) => p.name === "run-shell")
    expect(runShell?.arguments).toEqual([
      expect.objectContaining({ name: "command", required: true }),
      expect.objectContaining({ name: "image", required: false })
    ])

    const rendered = await server.client.getPrompt({ name: "run-shell", arguments: { command: "uname -a && echo e2e-marker" } })
    expect(rendered.messages).toHaveLength(1)
    const [message] = rendered.messages
    expect(message?.role).toBe("user")
    const text = message?.content.type === "text" ? message.content.text : ""
    expect(text).toContain("uname -a && echo e2e-marker")
    expect(text).toContain("ubuntu:noble")
    expect(text).toContain("contree_run")
  })

  it("answers a prompt without its required argument with an MCP error", async () => {
    const failure = await server.client.getPrompt({ name: "run-shell", arguments: {} }).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(failure).toBeInstanceOf(McpError)
    expect((failure as McpError).message).toContain("command")
    // The server is still there.
    expect((await server.client.listPrompts()).prompts).toHaveLength(10)
  })
})
