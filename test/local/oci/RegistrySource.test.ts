// RegistrySource over a mock HTTP client: which URLs it may reach (https unless loopback or
// listed), how it answers challenges and refreshes tokens, retries, and digest checks. The real
// registry tests are in RegistrySource.registry.test.ts.
import type { HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted, Stream } from "effect"
import { createHash } from "node:crypto"
import { parseRegistryUrl } from "../../../src/domain/RegistryUrl.js"
import { ACCEPTED_MANIFESTS, MediaType } from "../../../src/local/oci/Manifest.js"
import { registrySource } from "../../../src/local/oci/RegistrySource.js"
import type { RegistryCredentials } from "../../../src/services/RegistryAuth.js"
import { RetryPolicy } from "../../../src/services/RetryPolicy.js"
import { empty, fastPolicy, json, mockHttp, type Reply } from "../../support/http.js"

const SECRET = "pat-SECRET-9a8b7c6d"
const credentials: RegistryCredentials = { username: "robot", token: Redacted.make(SECRET) }
const basic = `Basic ${Buffer.from(`robot:${SECRET}`).toString("base64")}`

const digestOf = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`
const LAYER = "layer bytes"
const CONFIG = "{}"
const manifestText = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: digestOf(CONFIG), size: CONFIG.length },
  layers: [{ mediaType: MediaType.ociLayer, digest: digestOf(LAYER), size: LAYER.length }]
})
const manifestReply = (headers: Record<string, string> = { "docker-content-digest": digestOf(manifestText) }) =>
  new Response(manifestText, { status: 200, headers: { "content-type": MediaType.ociManifest, ...headers } })

const sourceFor = (
  url: string,
  reply: (request: HttpClientRequest.HttpClientRequest, url: URL, n: number) => Reply,
  options: { readonly credentials?: RegistryCredentials; readonly insecure?: ReadonlyArray<string> } = {}
) => {
  const mock = mockHttp(reply)
  const source = registrySource({
    reference: Either.getOrThrow(parseRegistryUrl(url)),
    credentials: Option.fromNullable(options.credentials),
    insecureRegistries: options.insecure ?? []
  }).pipe(Effect.provide(mock.layer), Effect.provideService(RetryPolicy, fastPolicy()))
  return { mock, source }
}

const assertNoSecret = (value: unknown) => {
  assert.notInclude(JSON.stringify(value), SECRET)
  assert.notInclude(JSON.stringify(value), basic.slice(6))
}

describe("RegistrySource: where it may connect", () => {
  it.effect("speaks https to a registry that is neither loopback nor listed, asking for every manifest type", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("registry.example.com/team/app:1", () => manifestReply())
      const image = yield* (yield* source).resolve
      assert.strictEqual(image.manifestDigest, digestOf(manifestText))
      assert.strictEqual(mock.seen[0]!.url.toString(), "https://registry.example.com/v2/team/app/manifests/1")
      for (const type of ACCEPTED_MANIFESTS) assert.include(mock.seen[0]!.headers["accept"], type)
    }))

  it.effect("speaks plain http to a registry listed as insecure, and to Docker Hub's API host for a bare name over https", () =>
    Effect.gen(function*() {
      const listed = sourceFor("registry.lan:5000/app", () => manifestReply(), { insecure: ["registry.lan:5000"] })
      yield* (yield* listed.source).resolve
      assert.strictEqual(listed.mock.seen[0]!.url.toString(), "http://registry.lan:5000/v2/app/manifests/latest")
      const hub = sourceFor("alpine", () => manifestReply())
      yield* (yield* hub.source).resolve
      assert.strictEqual(hub.mock.seen[0]!.url.toString(), "https://registry-1.docker.io/v2/library/alpine/manifests/latest")
    }))

  it.effect("refuses a token realm on plain http at a host that is not loopback, before sending credentials there", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor(
        "registry.example.com/team/app:1",
        () => json({}, 401, { "www-authenticate": `Bearer realm="http://auth.example.com/token",service="reg"` }),
        { credentials }
      )
      const error = yield* Effect.flip((yield* source).resolve)
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.include(error.message, "auth.example.com")
      assert.include(error.message, "--insecure-registries")
      assert.deepStrictEqual(mock.seen.map((s) => s.url.host), ["registry.example.com"])
      assertNoSecret(error)
    }))

  it.effect("refuses a blob redirect to plain http at a host that is not loopback", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("registry.example.com/team/app:1", () => empty(307, { location: "http://cdn.example.net/blob" }))
      const error = yield* Effect.flip(Stream.runDrain((yield* source).blob({ mediaType: MediaType.ociLayer, digest: digestOf(LAYER), size: 1 })))
      assert.include(error.message, "cdn.example.net")
      assert.include(error.message, "plain HTTP")
      assert.strictEqual(mock.seen.length, 1)
    }))

  it.effect("follows a redirect to another https host without the Authorization header, keeping it on the same host", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("registry.example.com/team/app:1", (request, url) => {
        if (url.host === "cdn.example.net") return new Response(LAYER)
        if (request.headers["authorization"] !== basic) return json({}, 401, { "www-authenticate": `Basic realm="reg"` })
        if (url.pathname.startsWith("/v2/team/app/blobs/")) return empty(307, { location: "/moved" })
        return empty(302, { location: "https://cdn.example.net/signed?x=1" })
      }, { credentials })
      const bytes = yield* Stream.runCollect((yield* source).blob({ mediaType: MediaType.ociLayer, digest: digestOf(LAYER), size: 1 }))
      assert.strictEqual(Buffer.concat([...bytes]).toString(), LAYER)
      assert.deepStrictEqual(mock.seen.map((s) => [s.url.host, s.url.pathname, s.headers["authorization"]]), [
        ["registry.example.com", `/v2/team/app/blobs/${digestOf(LAYER)}`, undefined],
        ["registry.example.com", `/v2/team/app/blobs/${digestOf(LAYER)}`, basic],
        ["registry.example.com", "/moved", basic],
        ["cdn.example.net", "/signed", undefined]
      ])
    }))
})

describe("RegistrySource: authentication", () => {
  const challenge = { "www-authenticate": `Bearer realm="https://auth.example.com/token",service="reg.example"` }

  it.effect("asks the realm for a pull token for the repository, and gets one fresh token when a request with the old one is refused", () =>
    Effect.gen(function*() {
      let issued = 0
      let valid = ""
      const { mock, source } = sourceFor("reg.example/team/app:1", (request, url) => {
        if (url.host === "auth.example.com") {
          valid = `tok-${++issued}`
          return json({ token: valid })
        }
        if (request.headers["authorization"] !== `Bearer ${valid}`) return json({}, 401, challenge)
        if (url.pathname.includes("/manifests/")) {
          // The token expires right after the manifest is read.
          valid = "expired"
          return manifestReply()
        }
        return new Response(LAYER)
      }, { credentials })
      const s = yield* source
      const image = yield* s.resolve
      const bytes = yield* Stream.runCollect(s.blob(image.layers[0]!))
      assert.strictEqual(Buffer.concat([...bytes]).toString(), LAYER)
      const tokenRequests = mock.seen.filter((r) => r.url.host === "auth.example.com")
      assert.strictEqual(tokenRequests.length, 2)
      assert.strictEqual(tokenRequests[0]!.url.searchParams.get("scope"), "repository:team/app:pull")
      assert.strictEqual(tokenRequests[0]!.url.searchParams.get("service"), "reg.example")
      assert.strictEqual(tokenRequests[0]!.headers["authorization"], basic)
    }))

  it.effect("gives up after one refresh, saying to run contree_registry_auth, without the token in the error", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("reg.example/team/app:1", (_, url) =>
        url.host === "auth.example.com" ? json({ access_token: "tok-NEVER-SHOWN" }) : json({ errors: [{ code: "DENIED", message: `no ${SECRET}` }] }, 401, challenge), {
        credentials
      })
      const error = yield* Effect.flip((yield* source).resolve)
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.include(error.message, "contree_registry_auth")
      assert.include(error.message, "DENIED")
      assert.notInclude(error.message, "tok-NEVER-SHOWN")
      assertNoSecret(error)
      assert.strictEqual(mock.seen.length, 3)
    }))

  it.effect("answers a Basic challenge with the stored credentials; without any, says to log in", () =>
    Effect.gen(function*() {
      const reply = (request: HttpClientRequest.HttpClientRequest) =>
        request.headers["authorization"] === basic ? manifestReply() : json({}, 401, { "www-authenticate": `Basic realm="reg"` })
      const withCredentials = sourceFor("reg.example/app", reply, { credentials })
      assert.strictEqual((yield* (yield* withCredentials.source).resolve).manifestDigest, digestOf(manifestText))
      const anonymous = sourceFor("reg.example/app", reply)
      const error = yield* Effect.flip((yield* anonymous.source).resolve)
      assert.include(error.message, "run contree_registry_auth for reg.example")
    }))
})

describe("RegistrySource: retries and checks", () => {
  it.effect("retries 429 (with Retry-After) and 5xx, then succeeds", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("reg.example/app:1", (_, __, n) =>
        n === 1 ? json({}, 429, { "retry-after": "0" }) : n === 2 ? json({}, 503) : manifestReply())
      yield* (yield* source).resolve
      assert.strictEqual(mock.seen.length, 3)
    }))

  const breaksOffAfter = (bytes: string) =>
    new Response(new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(bytes))
      },
      // Once the bytes are read: an error right away would discard them, queued.
      pull(controller) {
        controller.error(new Error("connection reset"))
      }
    }))

  it.effect("resumes a blob download that broke off with a Range request, or skips what it has when the range is ignored", () =>
    Effect.gen(function*() {
      const half = LAYER.slice(0, 5)
      const descriptor = { mediaType: MediaType.ociLayer, digest: digestOf(LAYER), size: LAYER.length }
      const ranged = sourceFor("reg.example/app:1", (_, __, n) =>
        n === 1 ? breaksOffAfter(half) : new Response(LAYER.slice(half.length), {
          status: 206,
          headers: { "content-range": `bytes ${half.length}-${LAYER.length - 1}/${LAYER.length}` }
        }))
      const resumed = yield* Stream.runCollect((yield* ranged.source).blob(descriptor))
      assert.strictEqual(Buffer.concat([...resumed]).toString(), LAYER)
      assert.deepStrictEqual(ranged.mock.seen.map((r) => r.headers["range"]), [undefined, `bytes=${half.length}-`])

      const whole = sourceFor("reg.example/app:1", (_, __, n) => (n === 1 ? breaksOffAfter(half) : new Response(LAYER)))
      const skipped = yield* Stream.runCollect((yield* whole.source).blob(descriptor))
      assert.strictEqual(Buffer.concat([...skipped]).toString(), LAYER)
    }))

  it.effect("does not retry a 404, and names the image", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("reg.example/team/app:2", () => json({ errors: [{ code: "MANIFEST_UNKNOWN" }] }, 404))
      const error = yield* Effect.flip((yield* source).resolve)
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "reg.example/team/app:2")
      assert.strictEqual(mock.seen.length, 1)
    }))

  it.effect("rejects a manifest whose bytes do not hash to the registry's digest or the one pulled by", () =>
    Effect.gen(function*() {
      const wrong = `sha256:${"1".repeat(64)}`
      const claimed = sourceFor("reg.example/app:1", () => manifestReply({ "docker-content-digest": wrong }))
      assert.include((yield* Effect.flip((yield* claimed.source).resolve)).message, "does not match its digest")
      const pinned = sourceFor(`reg.example/app@${wrong}`, () => manifestReply({}))
      assert.include((yield* Effect.flip((yield* pinned.source).resolve)).message, "does not match its digest")
      // Without the header, the digest is computed.
      const computed = sourceFor("reg.example/app:1", () => manifestReply({}))
      assert.strictEqual((yield* (yield* computed.source).resolve).manifestDigest, digestOf(manifestText))
    }))

  it.effect("says which platforms an index offers when the host's is missing", () =>
    Effect.gen(function*() {
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ mediaType: MediaType.ociManifest, digest: digestOf("x"), size: 1, platform: { os: "windows", architecture: "amd64" } }]
      })
      const { source } = sourceFor("reg.example/app:1", () => new Response(index))
      const error = yield* Effect.flip((yield* source).resolve)
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.include(error.message, "windows/amd64")
    }))

  it.effect("a URL that names only a registry is refused when resolved", () =>
    Effect.gen(function*() {
      const { mock, source } = sourceFor("ghcr.io", () => manifestReply())
      const error = yield* Effect.flip((yield* source).resolve)
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.include(error.message, "no image")
      assert.strictEqual(mock.seen.length, 0)
    }))
})
