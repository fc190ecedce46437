import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { stat } from "node:fs/promises"
import { isAbsolute } from "node:path"
import { expandHome } from "../files/expandHome.js"
import { sha256File } from "../files/sha256File.js"
import { uploadDeduplicated } from "../files/uploadDeduplicated.js"
import { noNul, optionalParam } from "./params.js"
import { defineTool } from "./Tool.js"
import { invalidInput, ToolError } from "./ToolError.js"

const fromPath = (raw: string) =>
  Effect.gen(function*() {
    const path = expandHome(raw)
    if (!isAbsolute(path)) return yield* invalidInput(`path must be absolute (or start with ~), got: ${raw}`)
    const info = yield* Effect.tryPromise(() => stat(path)).pipe(
      Effect.mapError(() => new ToolError({ reason: "NotFound", message: `File not found: ${path}` }))
    )
    if (!info.isFile()) return yield* invalidInput(`path is not a regular file: ${path}`)
    const { sha256, size } = yield* sha256File(path).pipe(
      Effect.mapError((error) => new ToolError({ reason: "InvalidInput", message: `cannot read ${path}: ${error.message}` }))
    )
    return yield* uploadDeduplicated({ _tag: "File", path, size }, sha256, size)
  })

const fromBytes = (bytes: Uint8Array) =>
  uploadDeduplicated({ _tag: "Bytes", bytes }, createHash("sha256").update(bytes).digest("hex"), bytes.length)

export const contreeUpload = defineTool({
  name: "contree_upload",
  title: "Upload a file",
  description: [
    "Upload one file for use in sandboxes; returns its uuid for contree_run's `files` map. Free: no sandbox.",
    "Give exactly one of path (a local file, streamed from disk), content (text) or content_base64 (bytes).",
    "Identical content is uploaded once: later calls return the same uuid. For whole directories use contree_rsync."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    path: optionalParam(noNul(Schema.String), "Absolute local file path (~ is expanded)"),
    content: optionalParam(Schema.String, "File content as text (stored as UTF-8)"),
    content_base64: optionalParam(Schema.String, "File content as base64")
  }),
  output: Schema.Struct({ uuid: Schema.String, sha256: Schema.String, size: Schema.Number }),
  handler: Effect.fn("contree_upload")(function*(input) {
    const given = [input.path, input.content, input.content_base64].filter((v) => v !== undefined)
    if (given.length !== 1) {
      return yield* invalidInput(`give exactly one of 'path', 'content' or 'content_base64' (got ${given.length})`)
    }
    if (input.path !== undefined) return yield* fromPath(input.path)
    if (input.content !== undefined) return yield* fromBytes(Buffer.from(input.content, "utf8"))
    const base64 = input.content_base64 ?? ""
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(base64)) return yield* invalidInput("content_base64 is not valid base64")
    return yield* fromBytes(Buffer.from(base64, "base64"))
  })
})
