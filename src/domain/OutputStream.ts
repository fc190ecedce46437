import { Schema } from "effect"
import { tolerant } from "./Lenient.js"

/**
 * The API's `StreamRepr`: bytes carried as literal ASCII or as base64.
 * The encoding is always sent explicitly because the sources disagree on its default.
 */
export class OutputStream extends Schema.Class<OutputStream>("OutputStream")({
  value: Schema.optionalWith(Schema.String, { default: () => "", nullable: true }),
  // An encoding we do not know is read as text rather than losing the output around it.
  encoding: Schema.optionalWith(tolerant(Schema.Literal("ascii", "base64"), () => "ascii" as const), { default: () => "ascii", nullable: true }),
  truncated: Schema.optionalWith(tolerant(Schema.Boolean, () => false), { default: () => false, nullable: true })
}) {}

const isAscii = (bytes: Uint8Array): boolean => bytes.every((b) => b < 0x80)

/** Encodes input bytes the way the API expects: ASCII when possible, base64 otherwise. */
export const encodeStream = (input: string | Uint8Array | null | undefined): OutputStream => {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input ?? new Uint8Array()
  return isAscii(bytes)
    ? new OutputStream({ value: Buffer.from(bytes).toString("ascii"), encoding: "ascii", truncated: false })
    : new OutputStream({ value: Buffer.from(bytes).toString("base64"), encoding: "base64", truncated: false })
}

export const streamBytes = (s: OutputStream): Buffer =>
  s.encoding === "base64" ? Buffer.from(s.value, "base64") : Buffer.from(s.value, "latin1")

/** Text for an agent: UTF-8 when the bytes are valid UTF-8, else base64 (lossless, unlike replacement characters). */
export interface DecodedText {
  readonly text: string
  readonly encoding: "utf-8" | "base64"
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

export const decodeBytes = (bytes: Uint8Array): DecodedText => {
  try {
    return { text: utf8.decode(bytes), encoding: "utf-8" }
  } catch {
    return { text: Buffer.from(bytes).toString("base64"), encoding: "base64" }
  }
}

export const decodeStream = (s: OutputStream): DecodedText => decodeBytes(streamBytes(s))
