import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { validateRunRequest } from "../../../src/local/sandbox/RunRequest.js"
import { spawnRequest } from "../../support/fixtures.js"

describe("validateRunRequest", () => {
  it.effect("checks a files object once, and gives each request the same checked files", () =>
    Effect.gen(function*() {
      const files = { "/app//a.py": { uuid: "u-1", mode: "0o100644", uid: 0, gid: 0 }, "/app/b.sh": { uuid: "u-2", mode: "755", uid: 1, gid: 2 } }
      const first = yield* validateRunRequest(spawnRequest("img", "true", { files }), undefined)
      const second = yield* validateRunRequest(spawnRequest("img", "ls", { files }), undefined)
      assert.deepStrictEqual(first.files, [
        { path: "/app/a.py", uuid: "u-1", mode: 0o644, uid: 0, gid: 0 },
        { path: "/app/b.sh", uuid: "u-2", mode: 0o755, uid: 1, gid: 2 }
      ])
      assert.deepStrictEqual(first.metadata["files"], {
        "/app/a.py": { uuid: "u-1", mode: "0644", uid: 0, gid: 0 },
        "/app/b.sh": { uuid: "u-2", mode: "0755", uid: 1, gid: 2 }
      })
      assert.strictEqual(second.files, first.files)
      assert.strictEqual(second.metadata["files"], first.metadata["files"])
      assert.deepStrictEqual(second.argv, ["/bin/sh", "-c", "ls"])
    }))

  it.effect("refuses a bad files object every time it is given", () =>
    Effect.gen(function*() {
      const files = { "/x": { uuid: "u-1", mode: "rwx", uid: 0, gid: 0 } }
      for (let i = 0; i < 2; i++) {
        const error = yield* Effect.flip(validateRunRequest(spawnRequest("img", "true", { files }), undefined))
        assert.strictEqual(error.message, "files[/x].mode is not an octal mode")
      }
    }))
})
