import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { internal } from "../../src/local/LocalEngineError.js"

describe("LocalEngineError", () => {
  it("names a failed system call by its code and call, never the host paths in Node's message", () => {
    let failure: unknown
    try {
      readFileSync("/var/lib/contree-mcp/sandbox/layers/0123456789ab/etc/missing")
    } catch (error) {
      failure = error
    }
    const error = internal("cannot read /etc/missing")(failure)
    assert.strictEqual(error.message, "cannot read /etc/missing: ENOENT (open)")
    assert.notInclude(error.message, "sandbox/layers")
    // The cause, with its paths, stays for the server's log.
    assert.strictEqual(error.cause, failure)
    assert.strictEqual(internal("cannot parse")(new Error("unexpected token")).message, "cannot parse: unexpected token")
  })
})
