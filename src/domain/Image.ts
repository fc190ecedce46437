import { Schema } from "effect"

/** A creation time: ISO-8601 on most responses, epoch seconds on some newer inspect responses. */
export const Timestamp = Schema.Union(Schema.String, Schema.Number)

/** An image as the API returns it; unknown fields are ignored on decode. */
export class Image extends Schema.Class<Image>("Image")({
  uuid: Schema.String,
  tag: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  created_at: Schema.optionalWith(Timestamp, { default: () => "" }),
  /** The operation that made it; null for images from another namespace or not made by an operation (current generation). */
  operation_uuid: Schema.optional(Schema.NullOr(Schema.String))
}) {}

export const ImageList = Schema.Struct({ images: Schema.Array(Image) })
