// Bad input is refused at the tool boundary, before any service is asked, and every refusal names
// the field it is about. The inputs go through the real registry, as the MCP adapter calls it; the
// services are mocks that die when used, so an input that slips through fails the test.
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { defaultRegistry } from "../../src/mcp/Registry.js"
import { toolServices } from "../support/tools.js"

const IMAGE = "11111111-2222-3333-4444-555555555555"
const OP = "0a1b2c3d-4e5f-4789-abcd-ef0123456789"

/** Arguments each tool accepts; a case overrides one field. */
const valid: Record<string, Record<string, unknown>> = {
  contree_run: { command: "true", image: IMAGE },
  contree_list_images: {},
  contree_get_image: { image: IMAGE },
  contree_set_tag: { image_uuid: IMAGE, tag: "x:1" },
  contree_list_files: { image: IMAGE },
  contree_read_file: { image: IMAGE, path: "/etc/hosts" },
  contree_grep: { image: IMAGE, pattern: "x" },
  contree_upload: { content: "x" },
  contree_rsync: { source: "/tmp/src", destination: "/app" },
  contree_download: { image: IMAGE, path: "/etc/hosts", destination: "/tmp/hosts" },
  contree_get_operation: { operation_id: OP },
  contree_list_operations: {},
  contree_wait_operations: { operation_ids: [OP] },
  contree_cancel_operation: { operation_id: OP },
  contree_whoami: {},
  contree_get_guide: { section: "quickstart" },
  contree_import_image: { registry_url: "alpine" },
  contree_registry_token_obtain: { registry_url: "ghcr.io" },
  contree_registry_auth: { registry_url: "ghcr.io", username: "me", token: "t" }
}

const NUL = "a\u0000b"
const badTags = ["", "../../x", "a/../b", "./x", ".hidden", "-x", "a:", "a/", "a.", "a//b", ":x", "a:b:c", "a b", NUL, "x".repeat(256)]
const badIds = ["", "op-1", "nope", "../x", `${OP}0`, OP.slice(1), ` ${OP}`, OP.replace(/-/g, ""), `${OP}\u0000`, "11111111-2222-3333-4444-55555555555g"]
const badImages = ["", "not-a-uuid", "python:3.11", "tag:", "tag:../../x", "tag:a\u0000b", `${IMAGE}\u0000`, "tag:a/", "tag:.x"]

/** [tool, field, the field's bad value]: the semantic checks, beyond the JSON types. */
const semantic: Array<readonly [string, string, unknown]> = [
  ...["contree_get_operation", "contree_cancel_operation"].flatMap((tool) => badIds.map((id) => [tool, "operation_id", id] as const)),
  ...badIds.map((id) => ["contree_wait_operations", "operation_ids", [OP, id]] as const),
  ["contree_wait_operations", "operation_ids", []],
  ...badTags.filter((tag) => tag !== "").map((tag) => ["contree_set_tag", "tag", tag] as const),
  ...badTags.map((tag) => ["contree_import_image", "tag", tag] as const),
  ...["contree_get_image", "contree_list_files", "contree_read_file", "contree_grep", "contree_download", "contree_run"].flatMap((tool) =>
    badImages.map((image) => [tool, "image", image] as const)
  ),
  ...badImages.map((image) => ["contree_set_tag", "image_uuid", image] as const),
  // NUL bytes in every path, tag, destination and name.
  ["contree_read_file", "path", NUL],
  ["contree_read_file", "path", ""],
  ["contree_list_files", "path", NUL],
  ["contree_grep", "path", NUL],
  ["contree_grep", "path", ["/a", NUL]],
  ["contree_grep", "glob", [NUL]],
  ["contree_grep", "pattern", NUL],
  ["contree_download", "path", NUL],
  ["contree_download", "path", ""],
  ["contree_download", "destination", NUL],
  ["contree_download", "destination", "/tmp/\u0000x"],
  ["contree_download", "destination", ""],
  ["contree_download", "destination", "relative/x"],
  ["contree_upload", "path", NUL],
  ["contree_upload", "path", "/tmp/\u0000x"],
  ["contree_upload", "path", "relative"],
  ["contree_rsync", "source", NUL],
  ["contree_rsync", "source", ""],
  ["contree_rsync", "source", "relative"],
  ["contree_rsync", "destination", "/app\u0000"],
  ["contree_rsync", "destination", "app"],
  ["contree_rsync", "exclude", [NUL]],
  ["contree_run", "cwd", "/x\u0000"],
  ["contree_run", "cwd", "x"],
  ["contree_run", "files", { "/x\u0000": "uuid" }],
  ["contree_run", "files", { "x": "uuid" }],
  ["contree_run", "command", NUL],
  ["contree_run", "command", ""],
  ["contree_run", "env", { A: NUL }],
  ["contree_run", "env", { [NUL]: "x" }],
  ["contree_list_images", "tag_prefix", NUL],
  ["contree_import_image", "registry_url", NUL],
  ["contree_import_image", "registry_url", "oci-archive:/x\u0000.tar"],
  ["contree_registry_auth", "registry_url", NUL],
  ["contree_registry_token_obtain", "registry_url", NUL],
  ["contree_upload", "content_base64", "not base64!"]
]

/** A value of the wrong JSON type for a property of this schema. */
const wrongTypes = (schema: Record<string, unknown>): Array<unknown> => {
  const types = new Set<string>()
  const collect = (node: Record<string, unknown>) => {
    if (typeof node["type"] === "string") types.add(node["type"])
    for (const branch of (node["anyOf"] as Array<Record<string, unknown>> | undefined) ?? []) collect(branch)
    if (node["enum"] !== undefined) types.add("enum")
  }
  collect(schema)
  const candidates: Array<[string, unknown]> = [["string", 42], ["number", "1"], ["integer", 1.5], ["boolean", "yes"], ["array", { a: 1 }], ["object", [1]]]
  const bad: Array<unknown> = []
  for (const [type, value] of candidates) if (types.has(type) && ![...types].some((t) => accepts(t, value))) bad.push(value)
  if (types.has("enum") && !types.has("string")) bad.push("no-such-value")
  return bad
}

const accepts = (type: string, value: unknown): boolean => {
  switch (type) {
    case "string":
      return typeof value === "string"
    case "number":
      return typeof value === "number"
    case "integer":
      return Number.isInteger(value)
    case "boolean":
      return typeof value === "boolean"
    case "array":
      return Array.isArray(value)
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value)
    default:
      return false
  }
}

/** [tool, field, value]: the wrong JSON type for every property of every tool, and an unknown property. */
const typed = defaultRegistry.tools.flatMap((tool) => {
  const properties = (tool.inputSchema["properties"] ?? {}) as Record<string, Record<string, unknown>>
  return [
    ...Object.entries(properties).flatMap(([field, schema]) => wrongTypes(schema).map((value) => [tool.name, field, value] as const)),
    [tool.name, "no_such_field", 1] as const
  ]
})

const refusal = (toolName: string, field: string, value: unknown) =>
  Effect.gen(function*() {
    const tool = defaultRegistry.tools.find((t) => t.name === toolName)!
    const exit = yield* Effect.exit(tool.call({ ...valid[toolName], [field]: value }))
    if (Exit.isSuccess(exit)) return `accepted`
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return `reached a service: ${Cause.pretty(exit.cause).split("\n")[0]}`
    if (failure.value.reason !== "InvalidInput") return `refused as ${failure.value.reason}: ${failure.value.message}`
    return failure.value.message.includes(field) ? undefined : `the error does not name ${field}: ${failure.value.message}`
  }).pipe(Effect.provide(toolServices()))

describe("the tool boundary", () => {
  it("covers every tool", () => {
    assert.sameMembers(Object.keys(valid), defaultRegistry.tools.map((t) => t.name))
  })

  it.effect("refuses every bad input with an error that names the field", () =>
    Effect.gen(function*() {
      const cases = [...semantic, ...typed]
      assert.isAbove(cases.length, 240)
      const problems: Array<string> = []
      for (const [tool, field, value] of cases) {
        const problem = yield* refusal(tool, field, value)
        if (problem !== undefined) problems.push(`${tool} ${field}=${JSON.stringify(value)}: ${problem}`)
      }
      assert.deepStrictEqual(problems, [])
    }))
})
