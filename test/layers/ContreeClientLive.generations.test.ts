/** The cloud client against both API generations: file lookups, retries by method, the IAM `Project` header. */
import { assert, describe, it } from "@effect/vitest"
import { type Context, Effect, Logger, Option } from "effect"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { IMAGE, spawnRequest as spawnRequestOf } from "../support/fixtures.js"
import { clientLayer, empty, fastPolicy, json, mockHttp, type Reply, TOKEN, transportError } from "../support/http.js"

type Client = Context.Tag.Service<typeof ContreeClient>
type Answer = (request: Parameters<Parameters<typeof mockHttp>[0]>[0], url: URL, n: number) => Reply

const SHA = "ab".repeat(32)
const spawnRequest = spawnRequestOf(IMAGE, "echo hi")
const file = { uuid: "f-1", sha256: SHA, size: 3, created_at: "2026-08-01T00:00:00Z", updated_at: "2026-08-01T00:00:00Z" }
const notFound = (what: string) => json({ error: what, status: 404 }, 404)

/** Runs several calls on ONE client (the generation it learns is per client) over a mock server. */
const session = <A, E>(reply: Answer, f: (client: Client) => Effect.Effect<A, E>, options: Parameters<typeof clientLayer>[1] = {}) => {
  const http = mockHttp(reply)
  return Effect.flatMap(ContreeClient, f).pipe(
    Effect.provide(clientLayer(http.layer, options)),
    Effect.map((result) => ({ result, seen: http.seen.map((s) => `${s.method} ${s.url.pathname}${s.url.search}`), raw: http.seen }))
  )
}

/** A server of the current generation only, as the vendor's stub: the older query answers the listing, HEAD /files 404 "no route". */
const currentServer = (files: ReadonlyArray<typeof file>): Answer => (request, url) => {
  const sha = /^\/v1\/files\/([0-9a-f]+)$/.exec(url.pathname)?.[1]
  if (sha !== undefined) {
    const found = files.find((f) => f.sha256 === sha)
    if (found === undefined) return notFound("file not found")
    return request.method === "HEAD" ? empty(200) : json(found)
  }
  if (url.pathname === "/v1/files") return request.method === "HEAD" ? notFound("no route") : json({ files })
  return notFound("no route")
}

/** A server of the older generation only: no path route (its router says 404, or 405 with `status405`). */
const legacyServer = (files: ReadonlyArray<typeof file>, status405 = false): Answer => (request, url) => {
  if (url.pathname.startsWith("/v1/files/")) return status405 ? json({ error: "method not allowed" }, 405) : notFound("Not found")
  if (url.pathname === "/v1/files") {
    const sha = url.searchParams.get("sha256")
    const uuid = url.searchParams.get("uuid")
    const found = files.find((f) => f.sha256 === sha || f.uuid === uuid)
    if (found === undefined) return notFound("File not found")
    return request.method === "HEAD" ? empty(200) : json({ uuid: found.uuid, sha256: found.sha256, size: found.size })
  }
  return notFound("Not found")
}

describe("ContreeClientLive, files on both generations", () => {
  it.effect("current generation: found by path; absent settled once by probing the older query, then one request per lookup", () =>
    Effect.gen(function*() {
      const { result, seen } = yield* session(currentServer([file]), (c) =>
        Effect.all([c.findFileByHash(SHA), c.findFileByHash("cd".repeat(32)), c.findFileByHash("ef".repeat(32)), c.fileHashExists(SHA)]))
      assert.deepStrictEqual(result[0], Option.some({ uuid: "f-1", sha256: SHA, size: 3 }))
      assert.isTrue(Option.isNone(result[1]))
      assert.isTrue(Option.isNone(result[2]))
      assert.isTrue(result[3])
      assert.deepStrictEqual(seen, [
        `GET /v1/files/${SHA}`,
        `GET /v1/files/${"cd".repeat(32)}`,
        `GET /v1/files/${"ef".repeat(32)}`,
        `HEAD /v1/files/${SHA}`
      ])
    }))

  it.effect("current generation, first lookup absent: the probe's listing says current (not a wrong file from the page)", () =>
    Effect.gen(function*() {
      const { result, seen } = yield* session(currentServer([file]), (c) =>
        Effect.all([c.fileHashExists("cd".repeat(32)), c.fileHashExists("ef".repeat(32)), c.findFileByHash("cd".repeat(32))]))
      assert.deepStrictEqual(result.slice(0, 2), [false, false])
      assert.isTrue(Option.isNone(result[2]))
      assert.deepStrictEqual(seen, [
        `HEAD /v1/files/${"cd".repeat(32)}`,
        `GET /v1/files?sha256=${"cd".repeat(32)}`,
        `HEAD /v1/files/${"ef".repeat(32)}`,
        `GET /v1/files/${"cd".repeat(32)}`
      ])
    }))

  it.effect("accepts the {file} and {files} envelopes from the path route", () =>
    Effect.gen(function*() {
      for (const body of [{ file }, { files: [file] }, [file]]) {
        const { result } = yield* session(() => json(body), (c) => c.findFileByHash(SHA))
        assert.deepStrictEqual(result, Option.some({ uuid: "f-1", sha256: SHA, size: 3 }), JSON.stringify(body))
      }
    }))

  it.effect("older generation (404 from its router): probes once, then uses the query forms only", () =>
    Effect.gen(function*() {
      const { result, seen } = yield* session(legacyServer([file]), (c) =>
        Effect.all([c.findFileByHash("cd".repeat(32)), c.findFileByHash(SHA), c.fileHashExists(SHA), c.fileUuidExists("f-1"), c.fileUuidExists("f-2")]))
      assert.isTrue(Option.isNone(result[0]))
      assert.deepStrictEqual(result[1], Option.some({ uuid: "f-1", sha256: SHA, size: 3 }))
      assert.deepStrictEqual(result.slice(2), [true, true, false])
      assert.deepStrictEqual(seen, [
        `GET /v1/files/${"cd".repeat(32)}`,
        `GET /v1/files?sha256=${"cd".repeat(32)}`,
        `GET /v1/files?sha256=${SHA}`,
        `HEAD /v1/files?sha256=${SHA}`,
        "HEAD /v1/files?uuid=f-1",
        "HEAD /v1/files?uuid=f-2"
      ])
    }))

  it.effect("older generation (405 from the path): the route is missing, the query answers at once", () =>
    Effect.gen(function*() {
      const { result, seen } = yield* session(legacyServer([file], true), (c) => Effect.all([c.fileHashExists(SHA), c.findFileByHash(SHA)]))
      assert.isTrue(result[0])
      assert.isTrue(Option.isSome(result[1]))
      assert.deepStrictEqual(seen, [`HEAD /v1/files/${SHA}`, `HEAD /v1/files?sha256=${SHA}`, `GET /v1/files?sha256=${SHA}`])
    }))

  it.effect("fileUuidExists: the first call probes with GET (HEAD /files?uuid= proves nothing on a current server); current answers false without a request", () =>
    Effect.gen(function*() {
      const current = yield* session(currentServer([file]), (c) => Effect.all([c.fileUuidExists("f-1"), c.fileUuidExists("f-1"), c.fileUuidExists("f-9")]))
      // The listing showed f-1 once; after that the server is known not to answer by uuid.
      assert.deepStrictEqual(current.result, [true, false, false])
      assert.deepStrictEqual(current.seen, ["GET /v1/files?uuid=f-1"])
      const legacy = yield* session(legacyServer([file]), (c) => Effect.all([c.fileUuidExists("f-2"), c.fileUuidExists("f-1")]))
      assert.deepStrictEqual(legacy.result, [false, true])
      assert.deepStrictEqual(legacy.seen, ["GET /v1/files?uuid=f-2", "HEAD /v1/files?uuid=f-1"])
    }))

  it.effect("a 500 from the path route is an error, not a reason to switch generations", () =>
    Effect.gen(function*() {
      const { result } = yield* session(() => empty(500), (c) => Effect.flip(c.findFileByHash(SHA)), { policy: fastPolicy({}, 0) })
      assert.strictEqual(result.status, 500)
    }))
})

describe("ContreeClientLive, retries by method (spec §1.2)", () => {
  const count = (status: number, f: (c: Client) => Effect.Effect<unknown, unknown>) =>
    Effect.map(session(() => json({ error: "x" }, status), (c) => Effect.either(f(c)), { policy: fastPolicy({}, 2) }), (r) => r.seen.length)

  it.effect("410 is retried for GET, HEAD and DELETE, never for POST or PATCH", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* count(410, (c) => c.getImage(IMAGE)), 3)
      assert.strictEqual(yield* count(410, (c) => c.fileExists(IMAGE, "/x")), 3)
      assert.strictEqual(yield* count(410, (c) => c.cancelOperation("op-1")), 3)
      assert.strictEqual(yield* count(410, (c) => c.untagImage(IMAGE)), 3)
      assert.strictEqual(yield* count(410, (c) => c.spawnInstance(spawnRequestOf(IMAGE, "true"))), 1)
      assert.strictEqual(yield* count(410, (c) => c.tagImage(IMAGE, "t")), 1)
    }))

  it.effect("PATCH is not idempotent: a 503 or a lost connection is not replayed; DELETE is", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* count(503, (c) => c.tagImage(IMAGE, "t")), 1)
      assert.strictEqual(yield* count(503, (c) => c.untagImage(IMAGE)), 3)
      const lost = yield* session((request) => transportError(request), (c) => Effect.either(c.tagImage(IMAGE, "t")), { policy: fastPolicy({}, 2) })
      assert.strictEqual(lost.seen.length, 1)
    }))

  it.effect("425 and 429 are replayed for every method, PATCH and POST included", () =>
    Effect.gen(function*() {
      for (const status of [425, 429]) {
        assert.strictEqual(yield* count(status, (c) => c.tagImage(IMAGE, "t")), 3)
        assert.strictEqual(yield* count(status, (c) => c.spawnInstance(spawnRequestOf(IMAGE, "true"))), 3)
      }
    }))
})

describe("ContreeClientLive, IAM project", () => {
  it.effect("sends Project: <project> on every request when configured, and none otherwise", () =>
    Effect.gen(function*() {
      const withProject = yield* session(currentServer([file]), (c) =>
        Effect.all([c.findFileByHash(SHA), c.fileHashExists(SHA), Effect.either(c.getImage(IMAGE))]), {
        config: { project: Option.some("proj-42") }
      })
      assert.strictEqual(withProject.raw.length, 3)
      for (const seen of withProject.raw) {
        assert.strictEqual(seen.headers["project"], "proj-42")
        assert.strictEqual(seen.headers["authorization"], `Bearer ${TOKEN}`)
      }
      const without = yield* session(() => json({ uuid: IMAGE }), (c) => c.getImage(IMAGE))
      assert.notProperty(without.raw[0]?.headers, "project")
    }))

  it.effect("a failure with a project configured names neither the token nor leaks it to the logs", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void logs.push(JSON.stringify(message))))
      const { result } = yield* session(() => json({ error: `bad token ${TOKEN} for project proj-42` }, 403), (c) =>
        Effect.flip(c.getImage(IMAGE)).pipe(Effect.tap((e) => Effect.logError(e.message))), {
        config: { project: Option.some("proj-42") }
      }).pipe(Effect.provide(capture))
      assert.strictEqual(result.reason, "Forbidden")
      assert.notInclude(result.message, TOKEN)
      assert.isAbove(logs.length, 0)
      for (const line of logs) assert.notInclude(line, TOKEN)
    }))
})

describe("ContreeClientLive, the current generation's spawn fields", () => {
  it.effect("sends a per-run network choice as networking.enabled (current generation), and nothing when it is left out", () =>
    Effect.gen(function*() {
      for (const network of [true, false]) {
        const { result, raw } = yield* session(() => json({ uuid: "op-1" }, 202), (c) => c.spawnInstance(spawnRequest, { network }))
        assert.strictEqual(result, "op-1")
        assert.deepStrictEqual(JSON.parse(raw[0]?.body ?? "null").networking, { enabled: network })
      }
      const { raw } = yield* session(() => json({ uuid: "op-1" }, 202), (c) => c.spawnInstance(spawnRequest, {}))
      assert.notProperty(JSON.parse(raw[0]?.body ?? "null"), "networking")
    }))

  it.effect("sends the current generation's spawn fields only when set, null env values included", () =>
    Effect.gen(function*() {
      const newer = {
        ...spawnRequest,
        env: { A: "1", BAKED: null },
        uid: 1000,
        gid: 100,
        preserve_env: true,
        resources_limits: { max_layer_bytes: 1 << 20 }
      }
      const { raw } = yield* session(() => json({ uuid: "op-1" }, 202), (c) => c.spawnInstance(newer))
      const body = JSON.parse(raw[0]?.body ?? "null")
      assert.deepStrictEqual(
        [body.env, body.uid, body.gid, body.preserve_env, body.resources_limits],
        [{ A: "1", BAKED: null }, 1000, 100, true, { max_layer_bytes: 1 << 20 }]
      )
    }))
})

describe("ContreeClientLive, uploads", () => {
  it.effect("reads the upload's answer bare or in the {file}/{files} envelopes", () =>
    Effect.gen(function*() {
      for (const body of [file, { file }, { files: [file] }]) {
        const { result } = yield* session(() => json(body, 201), (c) => c.uploadFile({ _tag: "Bytes", bytes: new Uint8Array([1, 2, 3]) }))
        assert.deepStrictEqual(result, { uuid: "f-1", sha256: SHA, size: 3 }, JSON.stringify(body))
      }
      const { result } = yield* session(() => json({ files: [] }, 201), (c) => Effect.flip(c.uploadFile({ _tag: "Bytes", bytes: new Uint8Array([1]) })))
      assert.strictEqual(result.reason, "Decode")
    }))
})
