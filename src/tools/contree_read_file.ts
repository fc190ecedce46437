import { Effect, Schema } from "effect"
import { decodeBytes } from "../domain/OutputStream.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { cachedForever } from "./cachedForever.js"
import { normalizeImagePath } from "../domain/ImagePath.js"
import { ImageRefParam } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"

// Larger files are fetched each time rather than stored in SQLite.
const CACHE_LIMIT = 1024 * 1024

/** A file's bytes from an image; small files are cached forever (images are immutable). */
export const readImageFile = (uuid: string, path: string) =>
  Effect.flatMap(ContreeClient, (client) =>
    cachedForever("read_file", `${uuid}:${path}`, Schema.Uint8ArrayFromBase64, client.readFile(uuid, path), (bytes) =>
      bytes.length <= CACHE_LIMIT))

export const contreeReadFile = defineTool({
  name: "contree_read_file",
  title: "Read a file from an image",
  description: [
    "Read a file of an image without starting a sandbox. Free, and cached: prefer it to running `cat`.",
    "Text comes back as UTF-8; other bytes as base64 (encoding says which)."
  ].join("\n"),
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({
    image: ImageRefParam,
    path: Schema.NonEmptyString.annotations({ description: "Absolute path of the file in the image" })
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
