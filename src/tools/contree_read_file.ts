import { Effect, Schema } from "effect"
import { decodeBytes } from "../domain/OutputStream.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { cachedForever } from "./cachedForever.js"
import { normalizeImagePath } from "../domain/ImagePath.js"
import { ImageRefParam, PathParam } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"
import { ToolError } from "./ToolError.js"

/**
 * The most a read returns. A larger file would flood the agent's context (the reference returns any
 * size); the error says what to use instead.
 */
export const READ_LIMIT = 1024 * 1024

const tooLarge = (path: string) =>
  new ToolError({
    reason: "InvalidInput",
    message: `'${path}' is larger than ${READ_LIMIT / 1024} KiB, the most contree_read_file returns. Copy it to the host ` +
      `with contree_download, or read a part of it with contree_run (head, tail, grep).`
  })

const readCapped = (uuid: string, path: string) =>
  Effect.flatMap(ContreeClient, (client) =>
    client.readFile(uuid, path).pipe(
      Effect.filterOrFail((bytes) => bytes.length <= READ_LIMIT, () => tooLarge(path))
    ))

/** A file's bytes from an image, at most `READ_LIMIT`; cached forever (images are immutable). */
export const readImageFile = (uuid: string, path: string) =>
  cachedForever("read_file", `${uuid}:${path}`, Schema.Uint8ArrayFromBase64, readCapped(uuid, path))

export const contreeReadFile = defineTool({
  name: "contree_read_file",
  title: "Read a file from an image",
  description: [
    "Read a file of an image without starting a sandbox. Free, and cached: prefer it to running `cat`.",
    "Text comes back as UTF-8; other bytes as base64 (encoding says which). At most 1 MiB: copy larger files with contree_download."
  ].join("\n"),
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({
    image: ImageRefParam,
    path: PathParam.annotations({ description: "Absolute path of the file in the image" })
  }),
  output: Schema.Struct({
    path: Schema.String,
    content: Schema.String,
    encoding: Schema.Literal("utf-8", "base64"),
    bytes_size: Schema.Number
  }),
  handler: Effect.fn("contree_read_file")(function*(input) {
    const uuid = yield* resolveImage(input.image)
    const bytes = yield* readImageFile(uuid, normalizeImagePath(input.path))
    const decoded = decodeBytes(bytes)
    return { path: input.path, content: decoded.text, encoding: decoded.encoding, bytes_size: bytes.length }
  })
})
