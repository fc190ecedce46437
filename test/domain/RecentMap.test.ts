import { assert, describe, it } from "@effect/vitest"
import { RecentMap } from "../../src/domain/RecentMap.js"

describe("RecentMap", () => {
  it("keeps the most recently set entries, a set again counting as recent", () => {
    const map = new RecentMap<string, number>(2)
    map.set("a", 1).set("b", 2).set("a", 3).set("c", 4)
    assert.deepStrictEqual([...map], [["a", 3], ["c", 4]])
  })
})
