import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { humanSize } from "../../../src/domain/LongListing.js"
import { directoryListing, longListingText } from "../../../src/local/images/DirectoryListing.js"
import { isValidTag, listWindow, parseTimeBound } from "../../../src/local/store/QueryRules.js"
import { parseMode } from "../../../src/local/sandbox/RunRequest.js"

describe("local query rules", () => {
  it("accepts the cloud's tag forms and refuses the rest", () => {
    for (const tag of ["python:3.11", "busybox:latest", "common/python-ml/python:3.11-slim", "env-ab12:v0.0.3", "my/base:latest"]) {
      assert.isTrue(isValidTag(tag), tag)
    }
    for (const tag of ["", "bad tag", "a:", "a/", "a.", "a//b", ":x", "a:b:c", "../../x", "a/../b", ".hidden", "-x", "a:.v", "a\u0000b", "a".repeat(256)]) assert.isFalse(isValidTag(tag), tag)
  })

  it.effect("reads time bounds as ISO-8601 or a duration back from now", () =>
    Effect.gen(function*() {
      const now = Date.parse("2026-01-02T00:00:00Z")
      assert.strictEqual(yield* parseTimeBound("since", "1h", now), now - 3_600_000)
      assert.strictEqual(yield* parseTimeBound("since", "2d", now), now - 2 * 86_400_000)
      assert.strictEqual(yield* parseTimeBound("since", "2026-01-01T00:00:00Z", now), Date.parse("2026-01-01T00:00:00Z"))
      assert.strictEqual((yield* Effect.flip(parseTimeBound("since", "soon", now))).reason, "InvalidRequest")
      assert.strictEqual((yield* Effect.flip(listWindow({ limit: 1001, offset: 0 }))).message, "limit must be between 1 and 1000")
      assert.strictEqual((yield* Effect.flip(listWindow({ limit: 10, offset: -1 }))).reason, "InvalidRequest")
    }))

  it("parses every file mode form clients send", () => {
    assert.strictEqual(parseMode("0644"), 0o644)
    assert.strictEqual(parseMode("755"), 0o755)
    assert.strictEqual(parseMode("0o644"), 0o644)
    assert.strictEqual(parseMode("0o100755"), 0o755)
    assert.isUndefined(parseMode("rwx"))
  })

  it("formats listings in the ls -l style of the reference fixtures", () => {
    assert.strictEqual(humanSize(256), "256.00  B")
    assert.strictEqual(humanSize(1200), "1.17 KB")
    const stats = (mode: number, size: number) => ({
      mode, size, uid: 0, gid: 0, nlink: 1, mtimeMs: Date.parse("2023-11-14T22:13:20Z"),
      isDirectory: () => (mode & 0o170000) === 0o040000, isFile: () => (mode & 0o170000) === 0o100000,
      isSymbolicLink: () => false, isSocket: () => false, isFIFO: () => false
    })
    const entries = [
      { path: "/etc/bin", name: "bin", stats: stats(0o40755, 4096), hostPath: "/nonexistent", layers: [] },
      { path: "/etc/passwd", name: "passwd", stats: stats(0o104755, 1200), hostPath: "/nonexistent", layers: [] }
    ]
    const listing = directoryListing("/etc", entries as never, { uid: 0, gid: 0, count: 65536 })
    assert.strictEqual(
      longListingText(listing, [2, 1]),
      "total 5.17 KB\ndrwxr-xr-x 2 0 0    4.00 KB Nov 14 22:13 bin\n-rwsr-xr-x 1 0 0    1.17 KB Nov 14 22:13 passwd\n"
    )
  })
})
