import { Effect, Schema, Stream } from "effect"
import { isAbsolute } from "node:path"
import { expandHome } from "../files/expandHome.js"
import { unpackAtomically } from "../files/unpackAtomically.js"
import { writeAtomically, type WriteError } from "../files/writeAtomically.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { normalizeImagePath } from "../domain/ImagePath.js"
import { ImageRefParam, PathParam, withDefault } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"
import { invalidInput, ToolError } from "./ToolError.js"

export const contreeDownload = defineTool({
  name: "contree_download",
  title: "Download a file or directory from an image",
  description: [
    "Copy a file or a whole directory from an image to the local filesystem, e.g. build output of a disposable=false run. Free: no sandbox.",
    "The destination appears only when complete (written beside it, then renamed); it may be missing, a regular file or a symlink (replaced, not followed); a directory goes to a new path. Missing parents are created."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    image: ImageRefParam,
    path: PathParam.annotations({ description: "Absolute path of the file or directory in the image" }),
    destination: PathParam.annotations({ description: "Absolute local path to write (~ is expanded)" }),
    executable: withDefault(Schema.Boolean, false, "Make the local file executable (mode 0755); a directory keeps the image's modes")
  }),
  output: Schema.Struct({
    success: Schema.Boolean,
    source: Schema.Struct({ image: Schema.String, path: Schema.String }),
    destination: Schema.String,
    kind: Schema.Literal("file", "directory"),
    /** Bytes of a file; of a directory, its archive's. */
    size: Schema.Number,
    executable: Schema.Boolean,
    /** A directory's entries written (files, directories, links); device nodes are left out. */
    entries: Schema.optional(Schema.Number)
  }),
  handler: Effect.fn("contree_download")(function*(input) {
    const destination = expandHome(input.destination)
    if (!isAbsolute(destination)) {
      return yield* invalidInput(`destination must be an absolute path, got: ${input.destination}`)
    }
    const image = yield* resolveImage(input.image)
    const client = yield* ContreeClient
    const path = normalizeImagePath(input.path)
    const writeFailed = (error: WriteError) => new ToolError({ reason: "InvalidInput", message: error.message })
    // Not a regular file (a directory answers "is a directory" or 404): then it is fetched as an archive.
    const isFile = yield* client.fileExists(image, path).pipe(Effect.catchIf((e) => e.reason === "InvalidRequest", () => Effect.succeed(false)))
    if (isFile) {
      const size = yield* writeAtomically(client.downloadFile(image, path), destination, input.executable ? 0o755 : 0o644).pipe(
        Effect.catchTag("WriteError", writeFailed)
      )
      return { success: true, source: { image, path }, destination, kind: "file" as const, size, executable: input.executable }
    }
    let size = 0
    const archive = Stream.tap(client.downloadArchive(image, path), (chunk) => Effect.sync(() => (size += chunk.length)))
    const entries = yield* unpackAtomically(archive, destination).pipe(Effect.catchTag("WriteError", writeFailed))
    return { success: true, source: { image, path }, destination, kind: "directory" as const, size, executable: false, entries }
  })
})
