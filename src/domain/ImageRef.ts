import { Either } from "effect"
import { isValidTag, TAG_RULE } from "./Tag.js"

/** Where an agent points at an image: a UUID or `tag:NAME`. */
export type ImageRef =
  | { readonly _tag: "Uuid"; readonly uuid: string }
  | { readonly _tag: "Tag"; readonly tag: string }

const uuidPattern = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

const canonicalUuid = (raw: string): string => {
  const hex = raw.replace(/-/g, "").toLowerCase()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const safeDecode = (raw: string): string => {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/**
 * Parses an image reference. Percent-encoding is undone first (resource URIs carry encoded tags);
 * UUIDs are normalised to their canonical lower-case hyphenated form.
 */
export const parseImageRef = (input: string): Either.Either<ImageRef, string> => {
  const ref = safeDecode(input.trim())
  if (ref.startsWith("tag:")) {
    const tag = ref.slice(4)
    return tag.length > 0 ? Either.right({ _tag: "Tag", tag }) : Either.left("the tag after 'tag:' is empty")
  }
  const bare = ref.replace(/^urn:uuid:/i, "").replace(/^\{(.*)\}$/, "$1")
  return uuidPattern.test(bare)
    ? Either.right({ _tag: "Uuid", uuid: canonicalUuid(bare) })
    : Either.left(`'${input}' is neither an image UUID nor 'tag:NAME' (for example 'tag:python:3.11')`)
}

/** A reference as parseImageRef reads it, whose tag also follows the API's grammar. */
export const checkImageRef = (input: string): Either.Either<ImageRef, string> =>
  Either.flatMap(parseImageRef(input), (ref) =>
    ref._tag === "Tag" && !isValidTag(ref.tag)
      ? Either.left(`the tag after 'tag:' must be ${TAG_RULE}`)
      : Either.right(ref))
