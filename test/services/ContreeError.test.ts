import { assert, describe, it } from "@effect/vitest"
import { reasonForStatus } from "../../src/services/ContreeError.js"

describe("reasonForStatus", () => {
  it("maps statuses to the recovery an agent needs", () => {
    const cases: ReadonlyArray<readonly [number, string]> = [
      [400, "InvalidRequest"],
      [401, "Unauthorized"],
      [403, "Forbidden"],
      [404, "NotFound"],
      [410, "NotFound"],
      [409, "Conflict"],
      [413, "InvalidRequest"],
      [425, "RateLimited"],
      [429, "RateLimited"],
      [500, "Server"],
      [502, "Server"],
      [503, "Server"],
      [504, "Server"]
    ]
    for (const [status, reason] of cases) assert.strictEqual(reasonForStatus(status), reason, String(status))
  })
})
