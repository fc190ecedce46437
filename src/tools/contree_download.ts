import { Effect, Schema } from "effect"
import { isAbsolute } from "node:path"
import { expandHome } from "../files/expandHome.js"
import { writeAtomically } from "../files/writeAtomically.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { normalizeImagePath } from "../domain/ImagePath.js"
import { ImageRefParam, withDefault } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"
import { invalidInput, ToolError } from "./ToolError.js"

export const contreeDownload = defineTool({
  name: "contree_download",
  title: "Download a file from an image",
  description: [
    "Copy a file from an image to the local filesystem, e.g. a build artifact from a disposable=false run. Free: no sandbox.",
    "The destination appears only when complete (written beside it, then renamed); missing parent directories are created."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    image: ImageRefParam,
    path: Schema.NonEmptyString.annotations({ description: "Absolute path of the file in the image" }),
    destination: Schema.NonEmptyString.annotations({ description: "Absolute local path to write (~ is expanded)" }),
    executable: withDefault(Schema.Boolean, false, "Make the local file executable (mode 0755)")
  }),
  output: Schema.Struct({
    success: Schema.Boolean,
    source: Schema.Struct({ image: Schema.String, path: Schema.String }),
    destination: Schema.String,
    size: Schema.Number,
    executable: Schema.Boolean
  }),
  handler: Effect.fn("contree_download")(function*(input) {
    const destination = expandHome(input.destination)
    if (!isAbsolute(destination)) {
      return yield* invalidInput(`destination must be an absolute path, got: ${input.destination}`)
    }
    const image = yield* resolveImage(input.image)
    const client = yield* ContreeClient
    const path = normalizeImagePath(input.path)
    const size = yield* writeAtomically(client.downloadFile(image, path), destination, input.executable ? 0o755 : 0o644).pipe(
      Effect.catchTag("WriteError", (error) => new ToolError({ reason: "InvalidInput", message: error.message }))
    )
    return { success: true, source: { image, path }, destination, size, executable: input.executable }
  })
})
