import { Effect, Schema } from "effect"
import { Image } from "../domain/Image.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ImageRefParam, optionalParam, TagParam } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"


export const contreeSetTag = defineTool({
  name: "contree_set_tag",
  title: "Tag or untag an image",
  description: [
    "Give an image a tag, or remove its tag when `tag` is omitted or empty. Free: no sandbox.",
    "A tag names one image at a time: setting it on another image moves it.",
    "Convention: {scope}/{purpose}/{base}:{version}, e.g. common/python-ml/python:3.11-slim. Guide: contree://guide/tagging."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    image_uuid: ImageRefParam,
    tag: optionalParam(Schema.Union(Schema.Literal(""), TagParam), "The tag to set; omit to remove the image's tag")
  }),
  output: Image,
  handler: Effect.fn("contree_set_tag")(function*(input) {
    const client = yield* ContreeClient
    const uuid = yield* resolveImage(input.image_uuid)
    if (input.tag) return yield* client.tagImage(uuid, input.tag)
    yield* client.untagImage(uuid)
    return yield* client.getImage(uuid)
  })
})
