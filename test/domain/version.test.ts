import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { serverName, version } from "../../src/version.js"

describe("version", () => {
  it("equals package.json's version and name", () => {
    const pkg: unknown = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8"))
    assert.isObject(pkg)
    assert.strictEqual(version, (pkg as { version: unknown }).version)
    assert.strictEqual(serverName, (pkg as { name: unknown }).name)
  })
})
