import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Logger, LogLevel } from "effect"
import { guideSectionNames } from "../../src/content/guides.js"
import { ContreeCacheSqlite } from "../../src/layers/ContreeCacheSqlite.js"
import { makeServerFactory, type ServerServices } from "../../src/mcp/McpServer.js"
import { defaultRegistry } from "../../src/mcp/Registry.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { FileSync } from "../../src/services/FileSync.js"
import { OperationWaiter } from "../../src/services/OperationWaiter.js"
import { RegistryAuth } from "../../src/services/RegistryAuth.js"
import { CHILD, finishedRun, IMAGE, image } from "../support/fixtures.js"
import { apiError } from "../support/tools.js"

type Text = { readonly type: string; readonly text?: string }

const textOf = (result: Readonly<Record<string, unknown>>): string => ((result["content"] as ReadonlyArray<Text>)[0]?.text) ?? ""

/** The text of a resource read's first content. */
const contentText = (read: { readonly contents: ReadonlyArray<object> }): string | undefined => {
  const first = read.contents[0]
  return first !== undefined && "text" in first && typeof first.text === "string" ? first.text : undefined
}

/** A server built by the real factory over `services`, connected in memory to an SDK client. */
const connect = (services: { readonly client?: Layer.Layer<ContreeClient>; readonly waiter?: Layer.Layer<OperationWaiter> } = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layer.mergeAll(
      services.client ?? Layer.mock(ContreeClient, {}),
      services.waiter ?? Layer.mock(OperationWaiter, {}),
      Layer.mock(RegistryAuth, {}),
      Layer.mock(FileSync, {}),
      ContreeCacheSqlite(":memory:").pipe(Layer.orDie)
    ) satisfies Layer.Layer<ServerServices>)
    const factory = yield* makeServerFactory(defaultRegistry).pipe(Effect.provide(context), Logger.withMinimumLogLevel(LogLevel.None))
    const server = factory()
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    yield* Effect.acquireRelease(Effect.promise(() => server.connect(serverSide)), () => Effect.promise(() => server.close()))
    const client = new Client({ name: "test-client", version: "1.0.0" })
    yield* Effect.acquireRelease(Effect.promise(() => client.connect(clientSide)), () => Effect.promise(() => client.close()))
    return client
  })

/** The McpError a request was answered with. */
const mcpError = (request: () => Promise<unknown>) =>
  Effect.promise(() => request().then(() => assert.fail("expected an MCP error"), (error: unknown) => error)).pipe(
    Effect.map((error) => {
      assert.instanceOf(error, McpError)
      return error as McpError
    })
  )

describe("McpServer", () => {
  it.scopedLive("identifies itself and gives its instructions", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      assert.strictEqual(client.getServerVersion()?.name, "contree-mcp")
      assert.isAbove(client.getInstructions()?.length ?? 0, 100)
    }))

  it.scopedLive("lists every tool with a description, a root object schema and advertised defaults", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { tools } = yield* Effect.promise(() => client.listTools())
      assert.deepStrictEqual(tools.map((t) => t.name), defaultRegistry.tools.map((t) => t.name))
      for (const tool of tools) {
        assert.isAbove(tool.description?.length ?? 0, 10, tool.name)
        assert.strictEqual(tool.inputSchema.type, "object", tool.name)
        assert.strictEqual(tool.outputSchema?.type, "object", tool.name)
        assert.isDefined(tool.annotations, tool.name)
      }
      const run = tools.find((t) => t.name === "contree_run")!
      const properties = run.inputSchema.properties as Record<string, Record<string, unknown>>
      assert.strictEqual(properties["timeout"]?.["default"], 30)
      assert.include(String(properties["cwd"]?.["description"]), "else /root")
      assert.strictEqual(properties["shell"]?.["default"], true)
      assert.strictEqual(properties["wait"]?.["default"], true)
      assert.sameMembers(run.inputSchema.required ?? [], ["command", "image"])
      assert.isString(properties["command"]?.["description"])
    }))

  it.scopedLive("keeps tools/list within its budget: every agent pays for it in context on every session", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const listed = yield* Effect.promise(() => client.listTools())
      // 41.2 kB when input validation moved into the schemas; raise it only for a reason.
      assert.isBelow(JSON.stringify(listed).length, 42_500)
    }))

  it.scopedLive("lists every prompt with a description", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { prompts } = yield* Effect.promise(() => client.listPrompts())
      assert.strictEqual(prompts.length, defaultRegistry.prompts.length)
      for (const prompt of prompts) assert.isAbove(prompt.description?.length ?? 0, 10, prompt.name)
    }))

  it.scopedLive("returns a tool's result as structured content and as JSON text", () =>
    Effect.gen(function*() {
      const client = yield* connect({
        client: Layer.mock(ContreeClient, { getImage: (uuid) => Effect.succeed(image(uuid, "python:3.11")) })
      })
      yield* Effect.promise(() => client.listTools())
      const result = yield* Effect.promise(() => client.callTool({ name: "contree_get_image", arguments: { image: IMAGE } }))
      assert.isUndefined(result.isError)
      assert.deepStrictEqual(result.structuredContent, { uuid: IMAGE, tag: "python:3.11", created_at: "2024-01-01T00:00:00Z" })
      assert.deepStrictEqual(JSON.parse(textOf(result)), result.structuredContent)
    }))

  it.scopedLive("a failing tool answers isError with the error's message", () =>
    Effect.gen(function*() {
      const client = yield* connect({
        client: Layer.mock(ContreeClient, { getImage: () => Effect.fail(apiError("NotFound", "image does not exist", 404)) })
      })
      const result = yield* Effect.promise(() => client.callTool({ name: "contree_get_image", arguments: { image: IMAGE } }))
      assert.isTrue(result.isError)
      assert.include(textOf(result), "image does not exist")
      const invalid = yield* Effect.promise(() => client.callTool({ name: "contree_get_image", arguments: { image: 42 } }))
      assert.isTrue(invalid.isError)
      assert.include(textOf(invalid), "image")
    }))

  it.scopedLive("a defect answers isError with a generic message, never the details or a stack", () =>
    Effect.gen(function*() {
      const client = yield* connect({
        client: Layer.mock(ContreeClient, { getImage: () => Effect.die(new Error("kaboom: secret internals")) })
      })
      const result = yield* Effect.promise(() => client.callTool({ name: "contree_get_image", arguments: { image: IMAGE } }))
      assert.isTrue(result.isError)
      const text = textOf(result)
      assert.strictEqual(text, "Internal error; details are in the server log.")
      assert.notInclude(text, "kaboom")
      assert.notMatch(text, /\bat .*:\d+/)
    }))

  it.scopedLive("an unknown tool answers isError naming the available tools", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const result = yield* Effect.promise(() => client.callTool({ name: "contree_teleport", arguments: {} }))
      assert.isTrue(result.isError)
      assert.include(textOf(result), "Unknown tool 'contree_teleport'")
      assert.include(textOf(result), "contree_run")
    }))

  it.scopedLive("lists the 7 guides as resources, readable as markdown", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { resources } = yield* Effect.promise(() => client.listResources())
      assert.sameMembers(resources.map((r) => r.uri), guideSectionNames.map((s) => `contree://guide/${s}`))
      assert.strictEqual(resources.length, 7)
      const read = yield* Effect.promise(() => client.readResource({ uri: "contree://guide/quickstart" }))
      assert.strictEqual(read.contents[0]?.mimeType, "text/markdown")
      assert.isAbove((contentText(read) ?? "").length, 100)
    }))

  it.scopedLive("lists the resource templates", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { resourceTemplates } = yield* Effect.promise(() => client.listResourceTemplates())
      assert.sameMembers(resourceTemplates.map((t) => t.uriTemplate), [
        "contree://image/{image}/read/{path}",
        "contree://image/{image}/ls/{path}",
        "contree://image/{image}/lineage",
        "contree://operations/instance/{operation_id}",
        "contree://operations/import/{operation_id}"
      ])
      for (const template of resourceTemplates) assert.isAbove(template.description?.length ?? 0, 10)
    }))

  it.scopedLive("reads a file through the template, with slashes in the path and a percent-encoded tag", () =>
    Effect.gen(function*() {
      const reads: Array<string> = []
      const tags: Array<string> = []
      const client = yield* connect({
        client: Layer.mock(ContreeClient, {
          readFile: (uuid, path) => Effect.sync(() => (reads.push(`${uuid}:${path}`), Buffer.from(`content of ${path}`))),
          resolveTag: (tag) => Effect.sync(() => (tags.push(tag), image(CHILD, tag)))
        })
      })
      const passwd = yield* Effect.promise(() => client.readResource({ uri: `contree://image/${IMAGE}/read/etc/passwd` }))
      assert.strictEqual(contentText(passwd), "content of /etc/passwd")
      assert.strictEqual(passwd.contents[0]?.uri, `contree://image/${IMAGE}/read/etc/passwd`)
      const tagged = yield* Effect.promise(() => client.readResource({ uri: "contree://image/tag%3Afoo%2Fbar/read/etc/hostname" }))
      assert.strictEqual(contentText(tagged), "content of /etc/hostname")
      assert.deepStrictEqual(tags, ["foo/bar"])
      assert.deepStrictEqual(reads, [`${IMAGE}:/etc/passwd`, `${CHILD}:/etc/hostname`])
    }))

  it.scopedLive("reads an operation resource through the waiter", () =>
    Effect.gen(function*() {
      const client = yield* connect({
        waiter: Layer.mock(OperationWaiter, { get: (id) => Effect.succeed(finishedRun({ uuid: id, stdout: "out", exitCode: 4 })) })
      })
      const read = yield* Effect.promise(() => client.readResource({ uri: "contree://operations/instance/cccccccc-0000-4000-8000-000000000005" }))
      const json = JSON.parse(contentText(read) ?? "null")
      assert.strictEqual(json.state, "SUCCESS")
      assert.strictEqual(json.exit_code, 4)
      assert.strictEqual(json.stdout, "out")
      const wrongKind = yield* mcpError(() => client.readResource({ uri: "contree://operations/import/cccccccc-0000-4000-8000-000000000005" }))
      assert.strictEqual(wrongKind.code, ErrorCode.InvalidParams)
      assert.include(wrongKind.message, "not an import operation")
    }))

  it.scopedLive("an unknown resource or a failed read is an MCP error", () =>
    Effect.gen(function*() {
      const client = yield* connect({
        client: Layer.mock(ContreeClient, { readFile: () => Effect.fail(apiError("NotFound", "no such file", 404)) })
      })
      const unknown = yield* mcpError(() => client.readResource({ uri: "contree://nothing/here" }))
      assert.strictEqual(unknown.code, ErrorCode.InvalidParams)
      assert.include(unknown.message, "Unknown resource")
      const missing = yield* mcpError(() => client.readResource({ uri: `contree://image/${IMAGE}/read/nope` }))
      assert.include(missing.message, "no such file")
      const junk = yield* mcpError(() => client.readResource({ uri: "contree://image/junk/read/etc/passwd" }))
      assert.strictEqual(junk.code, ErrorCode.InvalidParams)
      // The mocked readFile would answer "no such file": a NUL is refused before any read.
      const nul = yield* mcpError(() => client.readResource({ uri: `contree://image/${IMAGE}/read/etc%00passwd` }))
      assert.strictEqual(nul.code, ErrorCode.InvalidParams)
      assert.include(nul.message, "path must not contain NUL bytes")
      const badId = yield* mcpError(() => client.readResource({ uri: "contree://operations/instance/op-1" }))
      assert.strictEqual(badId.code, ErrorCode.InvalidParams)
      assert.include(badId.message, "operation_id must be an operation id")
    }))

  it.scopedLive("renders a prompt, and a missing required argument is an InvalidParams error", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const rendered = yield* Effect.promise(() => client.getPrompt({ name: "run-python", arguments: { code: "print(42)" } }))
      assert.include(String((rendered.messages[0]?.content as Text).text), "print(42)")
      for (const args of [{}, { code: "" }, { code: "   " }]) {
        const error = yield* mcpError(() => client.getPrompt({ name: "run-python", arguments: args }))
        assert.strictEqual(error.code, ErrorCode.InvalidParams, JSON.stringify(args))
        assert.include(error.message, "code")
      }
      const unknown = yield* mcpError(() => client.getPrompt({ name: "nope" }))
      assert.strictEqual(unknown.code, ErrorCode.InvalidParams)
    }))

  it.scopedLive("sends progress notifications to a client that asked for them", () =>
    Effect.gen(function*() {
      const client = yield* connect({
        waiter: Layer.mock(OperationWaiter, { wait: (id) => Effect.succeed(finishedRun({ uuid: id })) })
      })
      const progress: Array<number> = []
      const result = yield* Effect.promise(() =>
        client.callTool({ name: "contree_wait_operations", arguments: { operation_ids: ["aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"] } }, undefined, {
          onprogress: (p) => void progress.push(p.progress)
        })
      )
      assert.isUndefined(result.isError)
      assert.deepStrictEqual(progress, [1, 2])
    }))

  it.scopedLive("a client's cancellation interrupts the running call", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const client = yield* connect({
        waiter: Layer.mock(OperationWaiter, {
          wait: () =>
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Effect.never),
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            )
        })
      })
      const abort = new AbortController()
      const pending = client.callTool({ name: "contree_wait_operations", arguments: { operation_ids: ["aaaaaaaa-0000-4000-8000-000000000001"] } }, undefined, {
        signal: abort.signal
      }).then(() => "answered", () => "rejected")
      yield* Deferred.await(started)
      assert.isFalse(yield* Deferred.isDone(interrupted))
      abort.abort("user pressed stop")
      assert.strictEqual(yield* Effect.promise(() => pending), "rejected")
      yield* Deferred.await(interrupted)
    }))
})
