import { Effect, Either } from "effect"
import { checkImageRef } from "../domain/ImageRef.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { invalidInput, ToolError } from "./ToolError.js"

/**
 * Turns an agent's image reference into a UUID. Malformed references are refused before any
 * request; an unknown tag gets a message that says how to find one.
 */
export const resolveImage = (ref: string) =>
  Effect.gen(function*() {
    const parsed = checkImageRef(ref)
    if (Either.isLeft(parsed)) return yield* invalidInput(`image: ${parsed.left}`)
    if (parsed.right._tag === "Uuid") return parsed.right.uuid
    const tag = parsed.right.tag
    const client = yield* ContreeClient
    const image = yield* client.resolveTag(tag).pipe(
      Effect.catchIf(
        (error) => error.reason === "NotFound",
        () =>
          new ToolError({
            reason: "NotFound",
            message: `no image has the tag '${tag}'. Find tags with contree_list_images (tag_prefix), or import one.`
          })
      )
    )
    return image.uuid
  })
