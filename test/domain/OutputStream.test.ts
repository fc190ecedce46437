import { assert, describe, it } from "@effect/vitest"
import { decodeBytes, decodeStream, encodeStream, OutputStream, streamBytes } from "../../src/domain/OutputStream.js"

describe("encodeStream", () => {
  it("sends ASCII text as ascii", () => {
    const s = encodeStream("hello\n")
    assert.deepStrictEqual({ value: s.value, encoding: s.encoding, truncated: s.truncated }, {
      value: "hello\n",
      encoding: "ascii",
      truncated: false
    })
  })

  it("sends nothing as an empty ascii stream", () => {
    for (const input of [undefined, null, "", new Uint8Array()]) {
      const s = encodeStream(input)
      assert.strictEqual(s.value, "")
      assert.strictEqual(s.encoding, "ascii")
    }
  })

  it("sends non-ASCII text as base64 of its UTF-8 bytes", () => {
    const s = encodeStream("héllo ✓")
    assert.strictEqual(s.encoding, "base64")
    assert.strictEqual(Buffer.from(s.value, "base64").toString("utf8"), "héllo ✓")
  })

  it("sends binary bytes as base64, losslessly", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
    const s = encodeStream(bytes)
    assert.strictEqual(s.encoding, "base64")
    assert.deepStrictEqual([...streamBytes(s)], [...bytes])
  })
})

describe("decodeStream / decodeBytes", () => {
  it("passes ascii through", () => {
    assert.deepStrictEqual(decodeStream(new OutputStream({ value: "out\n", encoding: "ascii" })), { text: "out\n", encoding: "utf-8" })
  })

  it("decodes base64 that holds UTF-8 to text", () => {
    const value = Buffer.from("naïve ✓", "utf8").toString("base64")
    assert.deepStrictEqual(decodeStream(new OutputStream({ value, encoding: "base64" })), { text: "naïve ✓", encoding: "utf-8" })
  })

  it("returns base64 when the bytes are not valid UTF-8, instead of replacement characters", () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x41])
    const value = Buffer.from(bytes).toString("base64")
    assert.deepStrictEqual(decodeStream(new OutputStream({ value, encoding: "base64" })), { text: value, encoding: "base64" })
    assert.deepStrictEqual(decodeBytes(bytes), { text: value, encoding: "base64" })
  })

  it("decodes empty bytes to empty text", () => {
    assert.deepStrictEqual(decodeBytes(new Uint8Array()), { text: "", encoding: "utf-8" })
  })

  it("round-trips through encodeStream", () => {
    for (const text of ["plain", "ünïcödé", "line1\nline2\t\u0000"]) {
      assert.deepStrictEqual(decodeStream(encodeStream(text)), { text, encoding: "utf-8" })
    }
  })

  it("keeps the truncated flag of the wire stream", () => {
    assert.isTrue(new OutputStream({ value: "x", encoding: "ascii", truncated: true }).truncated)
  })
})
