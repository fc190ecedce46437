import { Schema } from "effect"

/** An optional parameter with a default; the default is advertised in the JSON Schema too. */
export const withDefault = <A, I>(schema: Schema.Schema<A, I>, value: A & I, description: string) =>
  Schema.optionalWith(schema.annotations({ description, default: value }), { default: () => value })

/** An optional parameter that may also be sent as null; absent and null both mean "not given". */
export const optionalParam = <A, I>(schema: Schema.Schema<A, I>, description: string) =>
  Schema.optionalWith(schema.annotations({ description }), { nullable: true })

export const ImageRefParam = Schema.String.annotations({
  description: "Image UUID, or a tag as 'tag:NAME' (for example 'tag:python:3.11')"
})

export const OperationIdParam = Schema.NonEmptyTrimmedString.annotations({
  description: "Operation id returned by contree_run or contree_import_image"
})

// The jsonSchema annotation keeps the field's description and default in the advertised schema,
// which a refinement without one loses.
export const AbsolutePath = Schema.String.pipe(
  Schema.filter((path) => path.startsWith("/") || "must be an absolute path (starting with '/')", {
    jsonSchema: { pattern: "^/" }
  })
)
