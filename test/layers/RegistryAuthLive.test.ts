import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeRegistryAuth, type RegistryAuthOptions } from "../../src/layers/RegistryAuthLive.js"
import type { RegistryError } from "../../src/services/RegistryAuth.js"
import { RetryPolicy } from "../../src/services/RetryPolicy.js"
import { type FakeRegistryMode, startFakeOciRegistry } from "../fake/FakeOciRegistry.js"
import { empty, fastPolicy, mockHttp } from "../support/http.js"

const TOKEN = "ghp_SECRET-registry-token-5e6f7a"
const USER = "octocat"
const good = { username: USER, token: Redacted.make(TOKEN) }
const wrongToken = { username: USER, token: Redacted.make(`${TOKEN}-wrong`) }
const basicOf = (username: string, token: string) => `Basic ${Buffer.from(`${username}:${token}`).toString("base64")}`

/** A registry and a RegistryAuth (real HTTP, a credential file in a temp dir) for one test. */
const harness = (mode: FakeRegistryMode, options: { readonly realm?: string } = {}) =>
  Effect.gen(function*() {
    const registry = yield* Effect.acquireRelease(
      Effect.promise(() => startFakeOciRegistry({ mode, users: { [USER]: TOKEN }, ...options })),
      (r) => Effect.promise(() => r.close())
    )
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-registry-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const credentialsPath = join(dir, "registry-credentials.json")
    const auth = yield* serviceWith({ credentialsPath, insecureRegistries: [] }, FetchHttpClient.layer)
    return { registry, auth, credentialsPath }
  })

const serviceWith = (options: RegistryAuthOptions, http: Layer.Layer<HttpClient.HttpClient>) =>
  makeRegistryAuth(options).pipe(Effect.provide(Layer.merge(http, Layer.succeed(RetryPolicy, fastPolicy()))))

const stored = (path: string) => existsSync(path) ? readFileSync(path, "utf8") : ""

const assertNoToken = (error: RegistryError) => {
  assert.notInclude(error.message, TOKEN)
  assert.notInclude(JSON.stringify(error), TOKEN)
}

describe("RegistryAuthLive against a Bearer (token realm) registry", () => {
  it.live("accepts the right credentials through the realm, sending them only there", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("bearer")
      assert.deepStrictEqual(yield* auth.validate(registry.host, good), { _tag: "Valid" })
      assert.deepStrictEqual(registry.requests.map((r) => [r.path, r.authorization]), [
        ["/v2/", undefined],
        ["/token", basicOf(USER, TOKEN)]
      ])
      assert.deepStrictEqual(registry.requests[1]?.query, { service: "fake-registry" })
    }).pipe(Effect.scoped))

  it.live("calls wrong credentials invalid, naming what refused them", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("bearer")
      const check = yield* auth.validate(registry.host, wrongToken)
      assert.strictEqual(check._tag, "Invalid")
      if (check._tag === "Invalid") assert.include(check.detail, `the token service at ${registry.host} answered 401`)
    }).pipe(Effect.scoped))

  it.live("login stores valid credentials (mode 0600) and nothing for invalid ones", () =>
    Effect.gen(function*() {
      const { auth, credentialsPath, registry } = yield* harness("bearer")
      assert.strictEqual((yield* auth.login(registry.host, wrongToken))._tag, "Invalid")
      assert.isFalse(existsSync(credentialsPath))
      assert.strictEqual((yield* auth.login(registry.host, good))._tag, "Valid")
      assert.strictEqual(statSync(credentialsPath).mode & 0o777, 0o600)
      const json = JSON.parse(stored(credentialsPath))
      assert.strictEqual(json.registries[registry.host].username, USER)
      assert.strictEqual(json.registries[registry.host].token, TOKEN)
      // A later failed login leaves the good credentials alone.
      assert.strictEqual((yield* auth.login(registry.host, wrongToken))._tag, "Invalid")
      assert.strictEqual(JSON.parse(stored(credentialsPath)).registries[registry.host].token, TOKEN)
    }).pipe(Effect.scoped))

  it.live("credentialsFor revalidates stored credentials and returns them", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("bearer")
      assert.deepStrictEqual(yield* auth.credentialsFor(registry.host), { _tag: "None" })
      assert.strictEqual(registry.requests.length, 0)
      yield* auth.login(registry.host, good)
      const before = registry.requests.length
      const found = yield* auth.credentialsFor(registry.host)
      assert.strictEqual(found._tag, "Valid")
      if (found._tag === "Valid") {
        assert.strictEqual(found.credentials.username, USER)
        assert.strictEqual(Redacted.value(found.credentials.token), TOKEN)
      }
      assert.deepStrictEqual(registry.requests.slice(before).map((r) => r.path), ["/v2/", "/token"])
    }).pipe(Effect.scoped))

  it.live("credentialsFor removes stored credentials the registry now refuses", () =>
    Effect.gen(function*() {
      const { auth, credentialsPath, registry } = yield* harness("bearer")
      // Stored earlier (say, before the token was revoked).
      writeFileSync(credentialsPath, JSON.stringify({ registries: { [registry.host]: { username: USER, token: "revoked-token" } } }), { mode: 0o600 })
      const found = yield* auth.credentialsFor(registry.host)
      assert.strictEqual(found._tag, "Rejected")
      assert.deepStrictEqual(JSON.parse(stored(credentialsPath)).registries, {})
      assert.deepStrictEqual(yield* auth.credentialsFor(registry.host), { _tag: "None" })
    }).pipe(Effect.scoped))

  it.live("keeps stored credentials when the token service has trouble (not a verdict on them), after retrying", () =>
    Effect.gen(function*() {
      const { auth, credentialsPath, registry } = yield* harness("bearer")
      yield* auth.login(registry.host, good)
      // More failures than the retries allow.
      registry.failNext("/token", 503, 10)
      const error = yield* Effect.flip(auth.credentialsFor(registry.host))
      assert.strictEqual(error.reason, "Unavailable")
      assert.include(error.message, "answered 503")
      assertNoToken(error)
      assert.strictEqual(JSON.parse(stored(credentialsPath)).registries[registry.host].token, TOKEN)
      // fastPolicy allows 3 retries: 4 attempts at the token service.
      assert.strictEqual(registry.requests.filter((r) => r.path === "/token").length, 1 + 4)
    }).pipe(Effect.scoped))

  it.live("retries a transient failure and then succeeds", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("bearer")
      registry.failNext("/token", 502, 2)
      assert.deepStrictEqual(yield* auth.validate(registry.host, good), { _tag: "Valid" })
      assert.strictEqual(registry.requests.filter((r) => r.path === "/token").length, 3)
    }).pipe(Effect.scoped))

  it.live("refuses to send credentials to a plain-HTTP realm on a host that is not loopback", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("bearer", { realm: "http://auth.example.com/token" })
      const error = yield* Effect.flip(auth.validate(registry.host, good))
      assert.strictEqual(error.reason, "Insecure")
      assert.include(error.message, "auth.example.com")
      assert.include(error.message, "--insecure-registries")
      assertNoToken(error)
      // Only the anonymous probe was sent.
      assert.deepStrictEqual(registry.requests.map((r) => r.authorization), [undefined])
    }).pipe(Effect.scoped))
})

describe("RegistryAuthLive against other registries", () => {
  it.live("answers a Basic challenge with Basic auth on /v2/", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("basic")
      assert.deepStrictEqual(yield* auth.validate(registry.host, good), { _tag: "Valid" })
      assert.deepStrictEqual(registry.requests.map((r) => [r.path, r.authorization]), [
        ["/v2/", undefined],
        ["/v2/", basicOf(USER, TOKEN)]
      ])
      const check = yield* auth.validate(registry.host, wrongToken)
      assert.strictEqual(check._tag, "Invalid")
    }).pipe(Effect.scoped))

  it.live("says credentials are not required by a registry that lets anyone in, and stores nothing", () =>
    Effect.gen(function*() {
      const { auth, credentialsPath, registry } = yield* harness("anonymous")
      assert.deepStrictEqual(yield* auth.login(registry.host, good), { _tag: "NotRequired" })
      assert.isFalse(existsSync(credentialsPath))
      assert.deepStrictEqual(registry.requests.map((r) => [r.path, r.authorization]), [["/v2/", undefined], ["/v2/_catalog", undefined]])
    }).pipe(Effect.scoped))

  it.live("follows a challenge that only /v2/_catalog sends", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("catalog")
      assert.deepStrictEqual(yield* auth.validate(registry.host, good), { _tag: "Valid" })
      assert.deepStrictEqual(registry.requests.map((r) => r.path), ["/v2/", "/v2/_catalog", "/token"])
    }).pipe(Effect.scoped))

  it.live("checks Basic credentials where the challenge came from, not at an open /v2/", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("catalog-basic")
      assert.deepStrictEqual(yield* auth.validate(registry.host, good), { _tag: "Valid" })
      assert.strictEqual((yield* auth.validate(registry.host, wrongToken))._tag, "Invalid")
      assert.deepStrictEqual(registry.requests.slice(0, 3).map((r) => [r.path, r.authorization]), [
        ["/v2/", undefined],
        ["/v2/_catalog", undefined],
        ["/v2/_catalog", basicOf(USER, TOKEN)]
      ])
    }).pipe(Effect.scoped))

  it.live("reports a server that is not a registry, and one that cannot be reached, without the token", () =>
    Effect.gen(function*() {
      const { auth, registry } = yield* harness("bearer")
      registry.failNext("/v2/", 404)
      const notRegistry = yield* Effect.flip(auth.validate(registry.host, good))
      assert.strictEqual(notRegistry.reason, "Unsupported")
      assert.include(notRegistry.message, "does not look like a container registry")
      assertNoToken(notRegistry)

      // A port nobody listens on.
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const probe = createServer().listen(0, "127.0.0.1", () => {
            const address = probe.address()
            probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
          })
        })
      )
      const unreachable = yield* Effect.flip(auth.validate(`127.0.0.1:${port}`, good))
      assert.strictEqual(unreachable.reason, "Transport")
      assert.include(unreachable.message, `cannot reach 127.0.0.1:${port} (ECONNREFUSED)`)
      assertNoToken(unreachable)
    }).pipe(Effect.scoped))
})

describe("RegistryAuthLive transport choice", () => {
  const probe = (registry: string, insecureRegistries: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const http = mockHttp(() => empty(200))
      const dir = mkdtempSync(join(tmpdir(), "contree-registry-"))
      const auth = yield* serviceWith({ credentialsPath: join(dir, "c.json"), insecureRegistries }, http.layer)
      yield* auth.validate(registry, good)
      rmSync(dir, { recursive: true, force: true })
      return http.seen.map((s) => s.url.toString())
    })

  it.effect("uses https and Docker Hub's API host for docker.io", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* probe("docker.io", []), ["https://registry-1.docker.io/v2/", "https://registry-1.docker.io/v2/_catalog"])
    }))

  it.effect("uses https for other hosts unless they are listed, and http for loopback", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* probe("registry.lan:5000", []))[0], "https://registry.lan:5000/v2/")
      assert.strictEqual((yield* probe("registry.lan:5000", ["registry.lan"]))[0], "http://registry.lan:5000/v2/")
      assert.strictEqual((yield* probe("localhost:5000", []))[0], "http://localhost:5000/v2/")
    }))

  it.live("gives up on a registry that does not answer in time", () =>
    Effect.gen(function*() {
      const http = mockHttp(() => Effect.never)
      const dir = mkdtempSync(join(tmpdir(), "contree-registry-"))
      const auth = yield* makeRegistryAuth({ credentialsPath: join(dir, "c.json"), insecureRegistries: [] }).pipe(
        Effect.provide(Layer.merge(
          http.layer,
          Layer.succeed(RetryPolicy, fastPolicy({ requestTimeout: Duration.millis(20) }, 0))
        ))
      )
      const error = yield* Effect.flip(auth.validate("ghcr.io", good)).pipe(Effect.timeout("5 seconds"))
      rmSync(dir, { recursive: true, force: true })
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.message, "ghcr.io did not answer within")
    }))
})

describe("RegistryAuth.openBrowser", () => {
  it.effect("uses the launcher it was given", () =>
    Effect.gen(function*() {
      const opened: Array<string> = []
      const dir = mkdtempSync(join(tmpdir(), "contree-registry-"))
      const auth = yield* serviceWith({
        credentialsPath: join(dir, "c.json"),
        insecureRegistries: [],
        openBrowser: (url) => Effect.sync(() => (opened.push(url), true))
      }, mockHttp(() => empty(500)).layer)
      rmSync(dir, { recursive: true, force: true })
      assert.isTrue(yield* auth.openBrowser("https://ghcr.io/"))
      assert.deepStrictEqual(opened, ["https://ghcr.io/"])
    }))
})
