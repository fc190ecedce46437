import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { CacheError } from "../../src/services/ContreeCache.js"
import { ContreeApiError } from "../../src/services/ContreeError.js"
import { WaitTimeout } from "../../src/services/OperationWaiter.js"
import { allTools } from "../../src/tools/index.js"
import { defineTool, jsonSchemaOf } from "../../src/tools/Tool.js"
import { ToolError, toToolError } from "../../src/tools/ToolError.js"
import { callFails, toolServices } from "../support/tools.js"

const api = (reason: ContreeApiError["reason"], status?: number) =>
  new ContreeApiError({ reason, message: "api says no", method: "GET", path: "/images", ...(status === undefined ? {} : { status }) })

describe("jsonSchemaOf", () => {
  it("describes every tool's input and output as a root object schema", () => {
    assert.isAbove(allTools.length, 10)
    for (const tool of allTools) {
      assert.strictEqual(tool.inputSchema.type, "object", tool.name)
      assert.strictEqual(tool.outputSchema.type, "object", tool.name)
      assert.notProperty(tool.inputSchema, "$schema")
    }
  })

  it("advertises defaults and descriptions, and marks only required fields as required", () => {
    const schema = jsonSchemaOf(Schema.Struct({
      a: Schema.String.annotations({ description: "A" }),
      b: Schema.optionalWith(Schema.Number.annotations({ default: 3, description: "B" }), { default: () => 3 })
    }))
    const properties = schema["properties"] as Record<string, Record<string, unknown>>
    assert.strictEqual(properties["a"]?.["description"], "A")
    assert.strictEqual(properties["b"]?.["default"], 3)
    assert.deepStrictEqual(schema["required"], ["a"])
  })
})

describe("defineTool", () => {
  const echo = defineTool({
    name: "echo",
    title: "Echo",
    description: "Echo",
    annotations: {},
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Struct({ n: Schema.Number }),
    handler: ({ n }) => n < 0 ? Effect.fail(api("NotFound", 404)) : Effect.succeed({ n: n === 13 ? ("bad" as unknown as number) : n })
  })

  it.effect("decodes arguments strictly, names the field, and treats a missing object as {}", () =>
    Effect.gen(function*() {
      const wrongType = yield* callFails(echo, { n: "1" })
      assert.strictEqual(wrongType.reason, "InvalidInput")
      assert.include(wrongType.message, "invalid arguments for echo: n:")
      const missing = yield* callFails(echo, undefined)
      assert.include(missing.message, "n:")
      const extra = yield* callFails(echo, { n: 1, other: true })
      assert.include(extra.message, "other")
      const notAnObject = yield* callFails(echo, "text")
      assert.strictEqual(notAnObject.reason, "InvalidInput")
    }).pipe(Effect.provide(toolServices())))

  it.effect("maps service errors to ToolErrors", () =>
    Effect.gen(function*() {
      const error = yield* callFails(echo, { n: -1 })
      assert.instanceOf(error, ToolError)
      assert.strictEqual(error.reason, "NotFound")
    }).pipe(Effect.provide(toolServices())))

  it.effect("reports a result that does not match its own schema as Internal", () =>
    Effect.gen(function*() {
      const error = yield* callFails(echo, { n: 13 })
      assert.strictEqual(error.reason, "Internal")
      assert.include(error.message, "echo produced an invalid result")
    }).pipe(Effect.provide(toolServices())))
})

describe("toToolError", () => {
  it("maps API reasons to what the agent should do, keeping the API's message and the call", () => {
    const cases = [
      ["NotFound", "NotFound"],
      ["Unauthorized", "Unauthorized"],
      ["Forbidden", "Unauthorized"],
      ["InvalidRequest", "InvalidInput"],
      ["Conflict", "InvalidInput"],
      ["Timeout", "Timeout"],
      ["RateLimited", "Upstream"],
      ["Server", "Upstream"],
      ["Transport", "Upstream"],
      ["Decode", "Upstream"]
    ] as const
    for (const [reason, expected] of cases) {
      const error = toToolError(api(reason, 400))
      assert.strictEqual(error.reason, expected, reason)
      assert.include(error.message, "api says no (ConTree API GET /images answered 400).")
    }
    assert.include(toToolError(api("RateLimited")).message, "retry")
    assert.notInclude(toToolError(api("Transport")).message, "answered")
  })

  it("reports a local engine's failure in its own words: no request, no cloud advice", () => {
    const local = (reason: ContreeApiError["reason"]) => toToolError(new ContreeApiError({ reason, message: "file not found" }))
    assert.strictEqual(local("NotFound").reason, "NotFound")
    assert.strictEqual(local("NotFound").message, "file not found")
    assert.strictEqual(local("Unavailable").reason, "Upstream")
    assert.strictEqual(local("Server").message, "file not found")
  })

  it("maps timeouts and cache failures, and leaves ToolErrors alone", () => {
    assert.strictEqual(toToolError(new WaitTimeout({ operationId: "op-1", message: "late" })).reason, "Timeout")
    const cache = toToolError(new CacheError({ message: "disk full" }))
    assert.strictEqual(cache.reason, "Internal")
    assert.include(cache.message, "disk full")
    const own = new ToolError({ reason: "InvalidInput", message: "mine" })
    assert.strictEqual(toToolError(own), own)
  })
})

describe("tool schemas", () => {
  it("describe every input field", () => {
    for (const tool of allTools) {
      const properties = (tool.inputSchema["properties"] ?? {}) as Record<string, Record<string, unknown>>
      for (const [name, schema] of Object.entries(properties)) {
        assert.isString(schema["description"], `${tool.name}.${name} has no description`)
      }
    }
  })

  it("keep the constraint of absolute paths", () => {
    const run = allTools.find((t) => t.name === "contree_run")!
    const cwd = (run.inputSchema["properties"] as Record<string, { anyOf?: Array<Record<string, unknown>>; default?: unknown }>)["cwd"]
    assert.strictEqual(cwd?.anyOf?.[0]?.["pattern"], "^/")
    // No fixed default: an imported image's WorkingDir is the default there, /root elsewhere.
    assert.isUndefined(cwd?.default)
  })
})
