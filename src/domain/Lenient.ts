/**
 * Decoding that survives a newer server: a field whose shape drifted (an env value that is now
 * `null`, a mode that is now an integer, a stream encoding we do not know) is dropped or defaulted
 * instead of failing the object around it, so an operation's result (stdout, exit code) never
 * vanishes because of a field nobody reads.
 */
import { Schema } from "effect"

/** `schema` when the value decodes with it; otherwise `fallback()`. Encodes as `schema`. */
export const tolerant = <S extends Schema.Schema.Any>(schema: S, fallback: () => Schema.Schema.Type<S>) =>
  Schema.Union(
    schema,
    Schema.Unknown.pipe(Schema.transform(Schema.typeSchema(schema), {
      strict: false,
      decode: () => fallback(),
      encode: (value) => value
    }))
  )

const dropped = Schema.Unknown.pipe(Schema.transform(Schema.Undefined, {
  strict: true,
  decode: () => undefined,
  encode: (value) => value
}))

/** An optional field that is dropped (undefined) when present but not decodable. */
export const droppable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.Union(schema, dropped))
