import { Effect, Schema } from "effect"
import { Image } from "../domain/Image.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { noNul, optionalParam, withDefault } from "./params.js"
import { defineTool } from "./Tool.js"

const TimeBound = Schema.String.annotations({ description: "ISO-8601 time or a relative age such as '1h', '2d', '1w'" })

export const contreeListImages = defineTool({
  name: "contree_list_images",
  title: "List images",
  description: [
    "List images, newest first. Free: no sandbox.",
    "Look for a prepared environment before importing or installing anything, e.g. tag_prefix='common/python'.",
    "Guide: contree://guide/tagging."
  ].join("\n"),
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({
    limit: withDefault(Schema.Int.pipe(Schema.between(1, 1000)), 100, "Maximum number of images"),
    offset: withDefault(Schema.Int.pipe(Schema.nonNegative()), 0, "Images to skip, for paging"),
    tagged: optionalParam(Schema.Boolean, "true: only tagged images; false: only untagged ones"),
    tag_prefix: optionalParam(noNul(Schema.String), "Only images whose tag starts with this"),
    since: optionalParam(TimeBound, "Only images created after this"),
    until: optionalParam(TimeBound, "Only images created before this")
  }),
  output: Schema.Struct({ images: Schema.Array(Image) }),
  handler: Effect.fn("contree_list_images")(function*(input) {
    const client = yield* ContreeClient
    // The API validates prefixes as tags, which may not end in ':', '/' or '.'.
    const prefix = input.tag_prefix?.replace(/[:/.]+$/, "")
    const images = yield* client.listImages({
      limit: input.limit,
      offset: input.offset,
      tagged: input.tagged,
      tagPrefix: prefix === "" ? undefined : prefix,
      since: input.since || undefined,
      until: input.until || undefined
    })
    return { images: images.map((i) => new Image({ uuid: i.uuid, tag: i.tag, created_at: i.created_at })) }
  })
})
