import { Effect, Schema } from "effect"
import { Image } from "../domain/Image.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ImageRefParam } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"

export const contreeGetImage = defineTool({
  name: "contree_get_image",
  title: "Get an image",
  description: "Show an image's UUID, tag and creation time, by UUID or 'tag:NAME'. Free: no sandbox.",
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({ image: ImageRefParam }),
  output: Image,
  handler: Effect.fn("contree_get_image")(function*({ image }) {
    const client = yield* ContreeClient
    const found = yield* client.getImage(yield* resolveImage(image))
    return new Image({ uuid: found.uuid, tag: found.tag, created_at: found.created_at })
  })
})
