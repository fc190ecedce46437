import { HttpApp } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Option, Redacted, Stream } from "effect"
import { Image } from "../../src/domain/Image.js"
import type { SpawnRequest } from "../../src/domain/Instance.js"
import { OperationSummary } from "../../src/domain/Operation.js"
import type { EngineUpload } from "../../src/local/LocalEngine.js"
import { LocalEngine } from "../../src/local/LocalEngine.js"
import { LocalEngineError } from "../../src/local/LocalEngineError.js"
import type { ListImagesQuery, ListOperationsQuery } from "../../src/services/ContreeClient.js"
import { makeApiApp } from "../../src/serve/ApiApp.js"
import { finishedRun, IMAGE } from "../support/fixtures.js"

const TOKEN = "unit-test-token"
const HOST = "127.0.0.1:9453"

const refused = (name: string) => Effect.die(`the mock engine was not expected to be asked for ${name}`)

/** An engine that refuses every call not given in `overrides`, so a test states exactly what the route may do. */
const mockEngine = (overrides: Partial<LocalEngine["Type"]>): LocalEngine["Type"] => ({
  listImages: () => refused("listImages"),
  getImage: () => refused("getImage"),
  resolveTag: () => refused("resolveTag"),
  tagImage: () => refused("tagImage"),
  untagImage: () => refused("untagImage"),
  listDirectory: () => refused("listDirectory"),
  listDirectoryText: () => refused("listDirectoryText"),
  readFile: () => refused("readFile"),
  downloadFile: () => Stream.die("downloadFile"),
  fileExists: () => refused("fileExists"),
  storeHostFiles: () => refused("storeHostFiles"),
  grep: () => refused("grep"),
  downloadArchive: () => refused("downloadArchive"),
  whoami: refused("whoami"),
  watchOutput: () => Stream.die("watchOutput"),
  uploadFile: () => refused("uploadFile"),
  findFileByHash: () => refused("findFileByHash"),
  findFileByUuid: () => refused("findFileByUuid"),
  spawn: () => refused("spawn"),
  listOperations: () => refused("listOperations"),
  getOperation: () => refused("getOperation"),
  cancelOperation: () => refused("cancelOperation"),
  awaitOperation: () => refused("awaitOperation"),
  importImage: () => refused("importImage"),
  watchProgress: () => Stream.empty,
  describe: ["mock engine"],
  ...overrides
})

interface Sent {
  readonly status: number
  readonly headers: Headers
  readonly body: string
  readonly json: () => any
}

/** Sends one request to the app over `engine`, as a client on loopback with the right token unless told otherwise. */
const send = (
  engine: Partial<LocalEngine["Type"]>,
  method: string,
  path: string,
  init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}
): Effect.Effect<Sent> =>
  Effect.gen(function*() {
    const app = yield* makeApiApp({ listen: "127.0.0.1", token: Redacted.make(TOKEN) })
    const handler = HttpApp.toWebHandler(Effect.provideService(app, LocalEngine, mockEngine(engine)))
    const response = yield* Effect.promise(() =>
      handler(
        new Request(`http://${HOST}/v1${path}`, {
          method,
          headers: { host: HOST, authorization: `Bearer ${TOKEN}`, ...init.headers },
          ...(init.body === undefined ? {} : { body: init.body })
        })
      )
    )
    const body = yield* Effect.promise(() => response.text())
    return { status: response.status, headers: response.headers, body, json: () => JSON.parse(body) }
  })

const image = new Image({ uuid: IMAGE, tag: "busybox:latest", created_at: "2026-01-01T00:00:00.000Z" })

describe("serve: guards", () => {
  it.effect("refuses a wrong or missing token with 401 and the API's error body, before the engine is asked", () =>
    Effect.gen(function*() {
      for (const authorization of ["Bearer nope", `Bearer ${TOKEN}x`, "", `Basic ${TOKEN}`]) {
        const answer = yield* send({}, "GET", "/images", { headers: { authorization } })
        assert.strictEqual(answer.status, 401)
        assert.deepStrictEqual(answer.json(), { error: answer.json().error, status: 401 })
        assert.match(answer.json().error, /bearer token/)
      }
      const lowerCase = yield* send({ listImages: () => Effect.succeed([]) }, "GET", "/images", { headers: { authorization: `bearer ${TOKEN}` } })
      assert.strictEqual(lowerCase.status, 200)
    }))

  it.effect("refuses a foreign Host or Origin with 403", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* send({}, "GET", "/images", { headers: { host: "evil.example" } })).status, 403)
      assert.strictEqual((yield* send({}, "GET", "/images", { headers: { origin: "http://evil.example" } })).status, 403)
    }))
})

describe("serve: routes", () => {
  it.effect("GET /images passes the filters and page to the engine and wraps the list", () =>
    Effect.gen(function*() {
      const seen: Array<ListImagesQuery> = []
      const answer = yield* send(
        { listImages: (query) => Effect.sync(() => (seen.push(query), [image])) },
        "GET",
        "/images?limit=5&offset=10&tagged=1&tag=busy&since=1h&until=2026-01-02T00:00:00Z"
      )
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.json(), { images: [{ uuid: IMAGE, tag: "busybox:latest", created_at: "2026-01-01T00:00:00.000Z" }] })
      assert.deepStrictEqual(seen, [{ limit: 5, offset: 10, tagged: true, tagPrefix: "busy", since: "1h", until: "2026-01-02T00:00:00Z" }])
      const defaults: Array<ListImagesQuery> = []
      yield* send({ listImages: (query) => Effect.sync(() => (defaults.push(query), [])) }, "GET", "/images")
      assert.deepStrictEqual(defaults, [{ limit: 100, offset: 0, tagged: undefined, tagPrefix: undefined, since: undefined, until: undefined }])
    }))

  it.effect("turns each engine refusal into the cloud's status, with the message in the error body", () =>
    Effect.gen(function*() {
      const expected = { InvalidRequest: 400, NotFound: 404, Conflict: 409, Unavailable: 503, Internal: 500 } as const
      for (const [reason, status] of Object.entries(expected)) {
        const answer = yield* send(
          { getImage: () => Effect.fail(new LocalEngineError({ reason: reason as keyof typeof expected, message: `because ${reason}` })) },
          "GET",
          `/inspect/${IMAGE}/`
        )
        assert.deepStrictEqual([answer.status, answer.json()], [status, { error: `because ${reason}`, status }])
      }
    }))

  it.effect("an engine defect is a 500 in the error shape, not a dropped connection", () =>
    Effect.gen(function*() {
      const answer = yield* send({ getImage: () => Effect.die(new Error("boom")) }, "GET", `/inspect/${IMAGE}/`)
      assert.deepStrictEqual([answer.status, answer.json()], [500, { error: "internal server error", status: 500 }])
    }))

  it.effect("resolves a tag with a relative 302 and redirects the slashless image path with 308", () =>
    Effect.gen(function*() {
      const tags: Array<string> = []
      const resolved = yield* send({ resolveTag: (tag) => Effect.sync(() => (tags.push(tag), image)) }, "GET", "/inspect/?tag=busybox:latest")
      assert.deepStrictEqual([resolved.status, resolved.headers.get("location"), tags], [302, `${IMAGE}/`, ["busybox:latest"]])
      const slashless = yield* send({}, "GET", `/inspect/${IMAGE}?x=1`)
      assert.deepStrictEqual([slashless.status, slashless.headers.get("location")], [308, `${IMAGE}/?x=1`])
      const missing = yield* send({}, "GET", "/inspect/")
      assert.deepStrictEqual([missing.status, missing.json()], [400, { error: "tag is required", status: 400 }])
    }))

  it.effect("lists as JSON, or as text whenever a text parameter is present", () =>
    Effect.gen(function*() {
      const engine = {
        listDirectory: (_: string, path: string) => Effect.succeed({ path, files: [] }),
        listDirectoryText: (_: string, path: string) => Effect.succeed(`total 0 ${path}\n`)
      } as Partial<LocalEngine["Type"]>
      assert.deepStrictEqual((yield* send(engine, "GET", `/inspect/${IMAGE}/list?path=/etc`)).json(), { path: "/etc", files: [] })
      const text = yield* send(engine, "GET", `/inspect/${IMAGE}/list?path=/etc&text=`)
      assert.deepStrictEqual([text.body, text.headers.get("content-type")?.startsWith("text/plain")], ["total 0 /etc\n", true])
    }))

  it.effect("streams a download, and answers a missing file with 404 before any byte", () =>
    Effect.gen(function*() {
      const engine: Partial<LocalEngine["Type"]> = {
        fileExists: (_, path) => Effect.succeed(path === "/bin/tool"),
        getImage: () => Effect.succeed(image),
        downloadFile: () => Stream.make(new Uint8Array([1, 2]), new Uint8Array([3]))
      }
      const ok = yield* send(engine, "GET", `/inspect/${IMAGE}/download?path=/bin/tool`)
      assert.deepStrictEqual([ok.status, [...Buffer.from(ok.body, "latin1")]], [200, [1, 2, 3]])
      const missing = yield* send(engine, "GET", `/inspect/${IMAGE}/download?path=/nope`)
      assert.deepStrictEqual([missing.status, missing.json()], [404, { error: "file not found", status: 404 }])
      const head = yield* send(engine, "HEAD", `/inspect/${IMAGE}/download?path=/nope`)
      assert.deepStrictEqual([head.status, head.body], [404, ""])
    }))

  it.effect("hands an upload to the engine as a stream of the request body, and answers 201", () =>
    Effect.gen(function*() {
      const received: Array<Uint8Array> = []
      const uploadFile = (body: EngineUpload) =>
        body._tag !== "Stream"
          ? Effect.die("expected a streamed body")
          : Stream.runCollect(body.stream).pipe(
            Effect.map((chunks) => {
              received.push(Buffer.concat(Chunk.toReadonlyArray(chunks)))
              return { uuid: "file-1", sha256: "ab".repeat(32), size: 5 }
            })
          )
      const answer = yield* send({ uploadFile }, "POST", "/files", { body: new Uint8Array([104, 101, 108, 108, 111]) })
      assert.deepStrictEqual([answer.status, answer.json()], [201, { uuid: "file-1", sha256: "ab".repeat(32), size: 5 }])
      assert.deepStrictEqual(received.map((b) => Buffer.from(b).toString()), ["hello"])
    }))

  it.effect("looks files up by hash or uuid, and says what it needs otherwise", () =>
    Effect.gen(function*() {
      const file = { uuid: "file-1", sha256: "ab".repeat(32), size: 5 }
      const engine: Partial<LocalEngine["Type"]> = {
        findFileByHash: (sha) => Effect.succeed(sha === file.sha256 ? Option.some(file) : Option.none()),
        findFileByUuid: (uuid) => Effect.succeed(uuid === file.uuid ? Option.some(file) : Option.none())
      }
      assert.deepStrictEqual((yield* send(engine, "GET", `/files?sha256=${file.sha256}`)).json(), file)
      assert.deepStrictEqual((yield* send(engine, "GET", `/files/${file.sha256}`)).json(), file)
      assert.strictEqual((yield* send(engine, "HEAD", "/files?uuid=file-1")).status, 200)
      assert.strictEqual((yield* send(engine, "HEAD", `/files/${"cd".repeat(32)}`)).status, 404)
      assert.deepStrictEqual((yield* send(engine, "GET", `/files?sha256=${"cd".repeat(32)}`)).json(), { error: "File not found", status: 404 })
      assert.strictEqual((yield* send(engine, "GET", "/files")).status, 400)
    }))

  it.effect("decodes a spawn with the server defaults and any mode form, and answers 201 with Location", () =>
    Effect.gen(function*() {
      const spawned: Array<SpawnRequest> = []
      const body = JSON.stringify({
        command: "ls",
        image: "tag:busybox:latest",
        result: null,
        preserve_env: true,
        env: null,
        files: { "/a": { uuid: "f1", mode: 493 }, "/b": { uuid: "f2", mode: "0o100600" }, "/c": { uuid: "f3" } }
      })
      const answer = yield* send({ spawn: (request) => Effect.sync(() => (spawned.push(request), "op-7")) }, "POST", "/instances", { body })
      assert.deepStrictEqual([answer.status, answer.json(), answer.headers.get("location")], [201, { uuid: "op-7" }, "/v1/operations/op-7"])
      const request = spawned[0]!
      assert.deepStrictEqual(
        { ...request, stdin: { ...request.stdin } },
        {
          command: "ls",
          image: "tag:busybox:latest",
          hostname: "linuxkit",
          args: [],
          shell: false,
          env: {},
          // No cwd: the engine takes the image's working directory, else /root.
          disposable: false,
          stdin: { value: "", encoding: "ascii", truncated: false },
          timeout: 60,
          truncate_output_at: 65536,
          // A current-generation field, passed on to the engine (the rest of them absent: its own defaults).
          preserve_env: true,
          files: {
            "/a": { uuid: "f1", mode: "0755", uid: 0, gid: 0 },
            "/b": { uuid: "f2", mode: "0o100600", uid: 0, gid: 0 },
            "/c": { uuid: "f3", mode: "0644", uid: 0, gid: 0 }
          }
        }
      )
    }))

  it.effect("refuses malformed spawn bodies with 400 naming the field, without asking the engine", () =>
    Effect.gen(function*() {
      for (const [body, field] of [["{", /not valid JSON/], ["{}", /command/], [JSON.stringify({ command: "x", image: 1 }), /image/], [
        JSON.stringify({ command: "x", image: "i", timeout: 1.5 }),
        /timeout/
      ]] as const) {
        const answer = yield* send({}, "POST", "/instances", { body })
        assert.strictEqual(answer.status, 400)
        assert.match(answer.json().error, field)
      }
    }))

  it.effect("queues an import with the server's defaults and answers 201 with Location; a malformed one is a 400", () =>
    Effect.gen(function*() {
      const imports: Array<unknown> = []
      const engine: Partial<LocalEngine["Type"]> = { importImage: (request) => Effect.sync(() => (imports.push(request), "op-3")) }
      const answer = yield* send(engine, "POST", "/images/import", {
        body: JSON.stringify({ registry: { url: "oci-archive:/srv/a.tar", credentials: null }, tag: null })
      })
      assert.deepStrictEqual([answer.status, answer.json(), answer.headers.get("location")], [201, { uuid: "op-3" }, "/v1/operations/op-3"])
      assert.deepStrictEqual(imports, [{ registry: { url: "oci-archive:/srv/a.tar" }, timeout: 300 }])
      const bad = yield* send(engine, "POST", "/images/import", { body: JSON.stringify({ registry: { uri: "x" } }) })
      assert.strictEqual(bad.status, 400)
      assert.match(bad.json().error, /url/)
      assert.strictEqual(imports.length, 1)
    }))

  it.effect("lists operations as a bare array, validating status and kind", () =>
    Effect.gen(function*() {
      const seen: Array<ListOperationsQuery> = []
      const summary = new OperationSummary({ uuid: "op-1", kind: "instance", status: "SUCCESS", error: null, created_at: "2026-01-01T00:00:00Z" })
      const answer = yield* send(
        { listOperations: (query) => Effect.sync(() => (seen.push(query), [summary])) },
        "GET",
        "/operations?status=SUCCESS&kind=instance&limit=3"
      )
      assert.deepStrictEqual(answer.json(), [{ uuid: "op-1", kind: "instance", status: "SUCCESS", error: null, created_at: "2026-01-01T00:00:00Z" }])
      assert.deepStrictEqual(seen.map((q) => [q.status, q.kind, q.limit]), [["SUCCESS", "instance", 3]])
      assert.strictEqual((yield* send({}, "GET", "/operations?kind=vm")).status, 400)
    }))

  it.effect("serves an operation, cancels with 202, and answers 409 when it already ended", () =>
    Effect.gen(function*() {
      const done = finishedRun({ uuid: "op-9" })
      assert.deepStrictEqual((yield* send({ getOperation: () => Effect.succeed(done) }, "GET", "/operations/op-9")).json().metadata.command, "echo hi")
      const cancelled = yield* send({ cancelOperation: () => Effect.succeed(true) }, "DELETE", "/operations/op-9")
      assert.deepStrictEqual([cancelled.status, cancelled.json()], [202, { uuid: "op-9", status: "CANCELLED" }])
      const over = yield* send({ cancelOperation: () => Effect.succeed(false) }, "DELETE", "/operations/op-9")
      assert.deepStrictEqual([over.status, over.json()], [409, { error: "operation is not cancellable", status: 409 }])
    }))

  it.effect("tags with PATCH and untags with 204", () =>
    Effect.gen(function*() {
      const tagged = yield* send({ tagImage: (uuid, tag) => Effect.succeed(new Image({ uuid, tag, created_at: "" })) }, "PATCH", `/images/${IMAGE}/tag`, {
        body: JSON.stringify({ tag: "team/base:v1" })
      })
      assert.deepStrictEqual(tagged.json(), { uuid: IMAGE, tag: "team/base:v1", created_at: "" })
      const untagged: Array<string> = []
      const answer = yield* send({ untagImage: (uuid) => Effect.sync(() => void untagged.push(uuid)) }, "DELETE", `/images/${IMAGE}/tag`)
      assert.deepStrictEqual([answer.status, answer.body, untagged], [204, "", [IMAGE]])
    }))

  it.effect("answers an unknown endpoint and a wrong method with 404 in the error shape", () =>
    Effect.gen(function*() {
      for (const [method, path] of [["GET", "/nope"], ["PUT", "/images"], ["GET", "/IMAGES"]] as const) {
        const answer = yield* send({}, method, path)
        assert.deepStrictEqual([answer.status, answer.json().status], [404, 404])
      }
    }))
})
