/** The wire `Stream` shape (spec §2.2) used for stdin, stdout and stderr. */

export interface StreamJson {
  readonly value: string
  readonly encoding: "ascii" | "base64"
  readonly truncated: boolean
}

const isAscii = (bytes: Buffer): boolean => bytes.every((byte) => byte < 0x80)

/** Cuts at `limit` bytes (marking `truncated`), then uses `ascii` only when every byte is < 0x80. */
export const encodeStream = (bytes: Buffer, limit: number): StreamJson => {
  const kept = bytes.length > limit ? bytes.subarray(0, limit) : bytes
  const truncated = kept.length < bytes.length
  return isAscii(kept)
    ? { value: kept.toString("latin1"), encoding: "ascii", truncated }
    : { value: kept.toString("base64"), encoding: "base64", truncated }
}

/** Decodes a client-sent Stream; undefined when it is not one. A missing encoding means ascii. */
export const decodeStream = (value: unknown): Buffer | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { value: text, encoding = "ascii" } = value as { value?: unknown; encoding?: unknown }
  if (typeof text !== "string") return undefined
  if (encoding === "ascii") return Buffer.from(text, "utf8")
  if (encoding === "base64") return Buffer.from(text, "base64")
  return undefined
}
