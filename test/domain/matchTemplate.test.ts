import { assert, describe, it } from "@effect/vitest"
import { matchTemplate } from "../../src/resources/Resource.js"
import { normalizeImagePath } from "../../src/domain/ImagePath.js"

describe("matchTemplate", () => {
  it("matches one segment per parameter", () => {
    assert.deepStrictEqual(matchTemplate("contree://operations/instance/{operation_id}", "contree://operations/instance/op-1"), {
      operation_id: "op-1"
    })
    assert.deepStrictEqual(matchTemplate("contree://image/{image}/lineage", "contree://image/abc/lineage"), { image: "abc" })
  })

  it("lets a final {path} take the rest of the URI, slashes included", () => {
    assert.deepStrictEqual(matchTemplate("contree://image/{image}/read/{path}", "contree://image/abc/read/etc/passwd"), {
      image: "abc",
      path: "etc/passwd"
    })
    assert.deepStrictEqual(matchTemplate("contree://image/{image}/ls/{path}", "contree://image/abc/ls/"), { image: "abc", path: "" })
  })

  it("does not let other parameters span segments", () => {
    assert.isUndefined(matchTemplate("contree://image/{image}/lineage", "contree://image/a/b/lineage"))
    assert.isUndefined(matchTemplate("contree://operations/instance/{operation_id}", "contree://operations/instance/a/b"))
  })

  it("percent-decodes values", () => {
    assert.deepStrictEqual(matchTemplate("contree://image/{image}/read/{path}", "contree://image/tag%3Afoo%2Fbar/read/a%20b"), {
      image: "tag:foo/bar",
      path: "a b"
    })
  })

  it("keeps a malformed escape as it is", () => {
    assert.deepStrictEqual(matchTemplate("contree://image/{image}/lineage", "contree://image/50%/lineage"), { image: "50%" })
  })

  it("needs the whole URI to match, literally", () => {
    assert.isUndefined(matchTemplate("contree://image/{image}/lineage", "contree://image/abc/lineage/x"))
    assert.isUndefined(matchTemplate("contree://image/{image}/lineage", "xcontree://image/abc/lineage"))
    assert.isUndefined(matchTemplate("contree://image/{image}/lineage", "contree://image/abc/read/x"))
    // '.' in the template is literal, not a regex wildcard.
    assert.isUndefined(matchTemplate("a.b/{x}", "aXb/1"))
    assert.isUndefined(matchTemplate("contree://image/{image}/lineage", "contree://image//lineage"))
  })
})

describe("normalizeImagePath", () => {
  it("makes paths absolute and normalised, without a trailing slash", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["/etc/passwd", "/etc/passwd"],
      ["etc/passwd", "/etc/passwd"],
      ["", "/"],
      ["/", "/"],
      ["  /usr/lib/  ", "/usr/lib"],
      ["/a/./b/../c", "/a/c"],
      ["/../../etc", "/etc"],
      ["//a//b//", "/a/b"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(normalizeImagePath(input), expected, JSON.stringify(input))
  })
})
