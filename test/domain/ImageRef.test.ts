import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { parseImageRef } from "../../src/domain/ImageRef.js"

const canonical = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

const right = (input: string) => {
  const parsed = parseImageRef(input)
  if (Either.isLeft(parsed)) return assert.fail(`expected ${input} to parse, got: ${parsed.left}`)
  return parsed.right
}

const left = (input: string) => {
  const parsed = parseImageRef(input)
  if (Either.isRight(parsed)) return assert.fail(`expected ${input} to be refused, got ${JSON.stringify(parsed.right)}`)
  return parsed.left
}

describe("parseImageRef", () => {
  it("keeps a canonical UUID as it is", () => {
    assert.deepStrictEqual(right(canonical), { _tag: "Uuid", uuid: canonical })
  })

  it("normalises lenient UUID forms to the canonical lower-case hyphenated one", () => {
    for (
      const form of [
        canonical.toUpperCase(),
        canonical.replace(/-/g, ""),
        `{${canonical}}`,
        `urn:uuid:${canonical}`,
        `URN:UUID:${canonical.toUpperCase()}`,
        `  ${canonical}  `,
        `{${canonical.toUpperCase().replace(/-/g, "")}}`
      ]
    ) {
      assert.deepStrictEqual(right(form), { _tag: "Uuid", uuid: canonical }, form)
    }
  })

  it("reads tag: references, keeping colons and slashes in the tag", () => {
    assert.deepStrictEqual(right("tag:python:3.11"), { _tag: "Tag", tag: "python:3.11" })
    assert.deepStrictEqual(right("tag:common/python-ml/python:3.11-slim"), { _tag: "Tag", tag: "common/python-ml/python:3.11-slim" })
  })

  it("undoes percent-encoding first (resource URIs carry encoded tags)", () => {
    assert.deepStrictEqual(right("tag%3Afoo%2Fbar"), { _tag: "Tag", tag: "foo/bar" })
    assert.deepStrictEqual(right(encodeURIComponent(`{${canonical}}`)), { _tag: "Uuid", uuid: canonical })
  })

  it("keeps malformed percent-encoding as literal text", () => {
    assert.deepStrictEqual(right("tag:100%"), { _tag: "Tag", tag: "100%" })
  })

  it("refuses an empty tag", () => {
    assert.include(left("tag:"), "empty")
  })

  it("refuses anything that is neither a UUID nor tag:NAME, quoting the input", () => {
    for (const junk of ["", "python:3.11", "not-a-uuid", `${canonical}0`, canonical.slice(1), "g".repeat(32), "../etc"]) {
      const message = left(junk)
      assert.include(message, `'${junk}'`)
      assert.include(message, "tag:NAME")
    }
  })
})
