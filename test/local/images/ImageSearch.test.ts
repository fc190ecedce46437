import { assert, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { spawnSync } from "node:child_process"
import tar from "tar-stream"
import type { GrepQuery } from "../../../src/services/ContreeClient.js"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { busybox, describeSandbox, exitCode, request, run, withLocal } from "../support.js"

const rgInstalled = spawnSync("rg", ["--version"]).status === 0

const query = (patterns: ReadonlyArray<string>, more: Partial<GrepQuery> = {}): GrepQuery => ({
  patterns,
  paths: [],
  globs: [],
  maxTotal: 1000,
  case: "smart",
  before: 0,
  after: 0,
  ...more
})

/** An image over busybox with files in three committed layers, lower ones shadowed, deleted and made opaque above. */
const layered = Effect.gen(function*() {
  const base = yield* busybox
  const commit = (image: string, command: string) =>
    run(request(image, command, { disposable: false })).pipe(
      Effect.tap((op) => assert.strictEqual(exitCode(op), 0, command)),
      Effect.map((op) => op.resultImage!)
    )
  const one = yield* commit(
    base,
    "mkdir -p /data/keep /data/opaque && echo 'needle old' > /data/shadowed && echo 'needle gone' > /data/deleted && " +
      "echo 'needle below' > /data/opaque/below && echo 'needle kept' > /data/keep/a && printf 'needle\\0binary' > /data/bin && " +
      "echo 'needle hidden' > /data/.hidden && echo 'NEEDLE upper' > /data/keep/upper.txt"
  )
  return yield* commit(one, "echo 'fresh' > /data/shadowed && rm /data/deleted && rm -r /data/opaque && mkdir /data/opaque && echo 'needle above' > /data/opaque/above")
})

const grepDescribe = rgInstalled ? describeSandbox : describeSandbox.skip

grepDescribe("searching an image's files without a sandbox (ripgrep over the layers)", () => {
  it.live("finds root in /etc/passwd of busybox:latest, and nothing for a pattern that is nowhere", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const found = yield* client.grep(image, query(["^root:"], { paths: ["/etc"], globs: ["passwd"] }))
        assert.deepStrictEqual(found.matches.map((m) => [m.path, m.line_number]), [["/etc/passwd", 1]])
        assert.match(found.matches[0]!.line_text, /^root:x:0:0:/)
        assert.deepStrictEqual(found.matches[0]!.submatches, [{ text: "root:", start: 0, end: 5 }])
        assert.isFalse(found.truncated)
        const none = yield* client.grep(image, query(["no-such-text-anywhere-4711"]))
        assert.deepStrictEqual(none.matches, [])
      }), { maxConcurrentRuns: 2 }))

  it.live("shows what the merged view shows: shadowed, deleted and opaque-hidden files are not searched; binaries skipped, hidden files searched", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* layered
        const found = yield* client.grep(image, query(["needle"], { paths: ["/data"] }))
        assert.deepStrictEqual(found.matches.map((m) => `${m.path}: ${m.line_text}`), [
          "/data/.hidden: needle hidden",
          "/data/keep/a: needle kept",
          "/data/keep/upper.txt: NEEDLE upper",
          "/data/opaque/above: needle above"
        ])
      })))

  it.live("case, globs (with ! to exclude), per-file and total caps, context lines", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* layered
        const paths = (q: GrepQuery) => Effect.map(client.grep(image, q), (r) => r.matches.map((m) => m.path))
        assert.notInclude(yield* paths(query(["needle"], { paths: ["/data"], case: "sensitive" })), "/data/keep/upper.txt")
        assert.include(yield* paths(query(["needle"], { paths: ["/data"], case: "insensitive" })), "/data/keep/upper.txt")
        assert.deepStrictEqual(yield* paths(query(["needle"], { paths: ["/data"], globs: ["*.txt"] })), ["/data/keep/upper.txt"])
        assert.notInclude(yield* paths(query(["needle"], { paths: ["/data"], globs: ["!*.txt"] })), "/data/keep/upper.txt")
        const perFile = yield* client.grep(image, query(["."], { paths: ["/etc/passwd"], maxCount: 1 }))
        assert.deepStrictEqual(perFile.matches.map((m) => m.line_number), [1])
        const capped = yield* client.grep(image, query(["needle"], { paths: ["/data"], maxTotal: 2 }))
        assert.strictEqual(capped.matches.length, 2)
        assert.isTrue(capped.truncated)
        const context = yield* client.grep(image, query(["^nobody:"], { paths: ["/etc/passwd"], before: 1 }))
        assert.deepStrictEqual(context.matches.map((m) => m.type), ["context", "match"])
      })))

  it.live("names a bad pattern and a missing path", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const bad = yield* Effect.flip(client.grep(image, query(["a("])))
        assert.strictEqual(bad.reason, "InvalidRequest")
        assert.include(bad.message, "regex parse error")
        const missing = yield* Effect.flip(client.grep(image, query(["x"], { paths: ["/nowhere"] })))
        assert.strictEqual(missing.reason, "NotFound")
        assert.include(missing.message, "/nowhere")
      }), { maxConcurrentRuns: 2 }))
})

describeSandbox("a directory of an image as a tar stream", () => {
  it.live("holds the merged view relative to the root, with modes and links, and refuses a file or a missing path", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* layered
        const bytes = yield* Stream.runCollect(client.downloadArchive(image, "/data")).pipe(
          Effect.map((chunks) => Buffer.concat([...chunks]))
        )
        const entries = yield* Effect.promise(async () => {
          const extract = tar.extract()
          const seen: Array<string> = []
          const done = (async () => {
            for await (const entry of extract) {
              const body: Array<Buffer> = []
              for await (const chunk of entry) body.push(chunk as Buffer)
              seen.push(`${entry.header.type} ${entry.header.name}${entry.header.type === "file" ? ` ${Buffer.concat(body).toString().trim()}` : ""}`)
            }
          })()
          extract.end(bytes)
          await done
          return seen
        })
        assert.includeMembers(entries, [
          "directory data",
          "file data/shadowed fresh",
          "file data/opaque/above needle above",
          "file data/keep/a needle kept"
        ])
        assert.isFalse(entries.some((e) => e.includes("deleted") || e.includes("below")), entries.join("\n"))
        const file = yield* Effect.flip(Stream.runDrain(client.downloadArchive(image, "/data/keep/a")))
        assert.strictEqual(file.reason, "InvalidRequest")
        const missing = yield* Effect.flip(Stream.runDrain(client.downloadArchive(image, "/nope")))
        assert.strictEqual(missing.reason, "NotFound")
      })))
})
