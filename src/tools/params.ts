import { Either, Schema } from "effect"
import { checkImageRef } from "../domain/ImageRef.js"
import { isValidTag, TAG_RULE } from "../domain/Tag.js"

/** An optional parameter with a default; the default is advertised in the JSON Schema too. */
export const withDefault = <A, I>(schema: Schema.Schema<A, I>, value: A & I, description: string) =>
  Schema.optionalWith(schema.annotations({ description, default: value }), { default: () => value })

/** An optional parameter that may also be sent as null; absent and null both mean "not given". */
export const optionalParam = <A, I>(schema: Schema.Schema<A, I>, description: string) =>
  Schema.optionalWith(schema.annotations({ description }), { nullable: true })

// Refinements carry a jsonSchema annotation (empty where JSON Schema has nothing short to say), which
// keeps the field's description and default in the advertised schema; one without it loses them.

/** A string check at the schema, so that the refusal names the field; `true` or what is wrong. */
const checked = <I>(schema: Schema.Schema<string, I>, check: (value: string) => true | string, jsonSchema: object = {}) =>
  schema.pipe(Schema.filter(check, { jsonSchema }))

const NUL_MESSAGE = "must not contain NUL bytes"

/** No path, tag, name or pattern may hold a NUL byte: the operating system would cut the string there. */
export const noNul = <I>(schema: Schema.Schema<string, I>) => checked(schema, (value) => !value.includes("\0") || NUL_MESSAGE)

export const ImageRefParam = checked(Schema.String, (ref) => Either.match(checkImageRef(ref), { onLeft: (why) => why, onRight: () => true }))
  .annotations({ description: "Image UUID, or a tag as 'tag:NAME' (for example 'tag:python:3.11')" })

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** `true`, or why this is not an operation id. */
export const checkOperationId = (id: string): true | string =>
  UUID.test(id) || "must be an operation id: the UUID contree_run or contree_import_image returned"

export const OperationIdParam = checked(Schema.String, checkOperationId, { format: "uuid" }).annotations({ description: "Operation id returned by contree_run or contree_import_image" })

/** A tag as the API's grammar allows it. */
export const TagParam = checked(Schema.String, (tag) => isValidTag(tag) || `must be ${TAG_RULE}`)

/** A path on this machine or in an image, not yet checked for being absolute. */
export const PathParam = noNul(Schema.NonEmptyString)

export const AbsolutePath = checked(
  Schema.String,
  (path) => path.includes("\0") ? NUL_MESSAGE : path.startsWith("/") || "must be an absolute path (starting with '/')",
  { pattern: "^/" }
)
