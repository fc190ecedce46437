import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Schema } from "effect"
import { ImportRequest } from "../../src/domain/Operation.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeApiError } from "../../src/services/ContreeError.js"
import type { OperationProgress } from "../../src/services/OperationCompletion.js"
import { OperationWaiter, type WaitOptions } from "../../src/services/OperationWaiter.js"
import {
  type CredentialCheck,
  RegistryAuth,
  type RegistryCredentials,
  RegistryError,
  type StoredCredentials
} from "../../src/services/RegistryAuth.js"
import { contreeImportImage } from "../../src/tools/contree_import_image.js"
import { contreeRegistryAuth } from "../../src/tools/contree_registry_auth.js"
import { contreeRegistryTokenObtain } from "../../src/tools/contree_registry_token_obtain.js"
import { operation } from "../support/fixtures.js"
import { call, callFails, type Progress, toolServices } from "../support/tools.js"

const TOKEN = "glpat-SECRET-0a1b2c3d4e5f"
const IMPORTED = "99999999-8888-7777-6666-555555555555"

interface RegistryState {
  readonly opened: Array<string>
  readonly logins: Array<{ readonly registry: string; readonly username: string; readonly token: string }>
  readonly lookups: Array<string>
}

/** A RegistryAuth mock: `check` answers logins, `stored` answers lookups; everything is recorded. */
const registryMock = (options: {
  readonly check?: CredentialCheck | RegistryError
  readonly stored?: StoredCredentials | RegistryError
  readonly opens?: boolean
} = {}) => {
  const state: RegistryState = { opened: [], logins: [], lookups: [] }
  const answer = <A>(value: A | RegistryError) => value instanceof RegistryError ? Effect.fail(value) : Effect.succeed(value)
  const layer = Layer.mock(RegistryAuth, {
    openBrowser: (url) => Effect.sync(() => (state.opened.push(url), options.opens ?? true)),
    login: (registry, credentials: RegistryCredentials) =>
      Effect.suspend(() => {
        state.logins.push({ registry, username: credentials.username, token: Redacted.value(credentials.token) })
        return answer(options.check ?? { _tag: "Valid" })
      }),
    credentialsFor: (registry) =>
      Effect.suspend(() => {
        state.lookups.push(registry)
        return answer(options.stored ?? { _tag: "None" })
      })
  })
  return { state, layer }
}

const storedCredentials = (username = "deploy"): StoredCredentials => ({
  _tag: "Valid",
  credentials: { username, token: Redacted.make(TOKEN) }
})

const finishedImport = (url: string, tag: string | null = null) =>
  operation({
    uuid: "imp-1",
    kind: "image_import",
    status: "SUCCESS",
    duration: 4,
    metadata: { registry: { url }, tag, timeout: 300 },
    result: { image: IMPORTED, tag }
  })

/** Client and waiter mocks for imports: records request bodies, tracked ids and waits. */
const importHarness = (
  registry: ReturnType<typeof registryMock>,
  options: { readonly importError?: ContreeApiError; readonly work?: ReadonlyArray<OperationProgress> } = {}
) => {
  const state = {
    bodies: [] as Array<unknown>,
    tracked: [] as Array<string>,
    waits: [] as Array<{ readonly id: string; readonly options: WaitOptions | undefined }>,
    progress: [] as Array<Progress>
  }
  const client = Layer.mock(ContreeClient, {
    importImage: (request) =>
      Effect.suspend(() => {
        state.bodies.push(Schema.encodeSync(ImportRequest)(request))
        return options.importError === undefined ? Effect.succeed("imp-1") : Effect.fail(options.importError)
      })
  })
  const waiter = Layer.mock(OperationWaiter, {
    track: (id) => Effect.sync(() => void state.tracked.push(id)),
    wait: (id, waitOptions) =>
      Effect.gen(function*() {
        state.waits.push({ id, options: waitOptions })
        if (waitOptions?.onProgress) yield* waitOptions.onProgress(operation({ uuid: id, kind: "image_import", status: "EXECUTING" }))
        for (const work of options.work ?? []) if (waitOptions?.onWork) yield* waitOptions.onWork(work)
        const body = state.bodies.at(-1) as { registry: { url: string }; tag?: string }
        return finishedImport(body.registry.url, body.tag ?? null)
      })
  })
  return { state, layer: toolServices({ client, waiter, registry: registry.layer, progress: state.progress }) }
}

describe("contree_registry_token_obtain", () => {
  it.effect("returns the token page of each known registry and opens it once", () =>
    Effect.gen(function*() {
      const cases = [
        ["docker://docker.io/library/alpine:latest", "docker.io", "docker"],
        ["ghcr.io/org/image", "ghcr.io", "github"],
        ["oci://registry.gitlab.com/group/image", "registry.gitlab.com", "gitlab"],
        ["docker://gcr.io/project/image", "gcr.io", "google"]
      ] as const
      for (const [url, registry, site] of cases) {
        const mock = registryMock()
        const out = yield* call(contreeRegistryTokenObtain, { registry_url: url }).pipe(Effect.provide(toolServices({ registry: mock.layer })))
        assert.strictEqual(out["status"], "success", url)
        assert.strictEqual(out["registry"], registry)
        assert.include(out["url"], site)
        assert.deepStrictEqual(mock.state.opened, [out["url"]])
        assert.strictEqual(out["browser_opened"], true)
        assert.include(out["agent_instruction"], "STOP")
        assert.include(out["agent_instruction"], "wait")
        assert.include(out["message"], `contree_registry_auth(registry_url="${url}"`)
        assert.deepStrictEqual(Object.keys(out), ["status", "registry", "url", "message", "agent_instruction", "browser_opened"])
      }
    }))

  it.effect("maps bare names to docker.io", () =>
    Effect.gen(function*() {
      const mock = registryMock()
      const out = yield* call(contreeRegistryTokenObtain, { registry_url: "alpine" }).pipe(Effect.provide(toolServices({ registry: mock.layer })))
      assert.strictEqual(out["registry"], "docker.io")
      assert.include(out["url"], "docker")
    }))

  it.effect("says when no browser could be opened, still returning the URL", () =>
    Effect.gen(function*() {
      const mock = registryMock({ opens: false })
      const out = yield* call(contreeRegistryTokenObtain, { registry_url: "ghcr.io" }).pipe(Effect.provide(toolServices({ registry: mock.layer })))
      assert.strictEqual(out["status"], "success")
      assert.strictEqual(out["browser_opened"], false)
      assert.strictEqual(out["url"], "https://github.com/settings/tokens?type=beta")
      assert.match(String(out["message"]), /^Open https:/)
    }))

  it.effect("answers an unknown registry with an error status, an empty URL and no browser", () =>
    Effect.gen(function*() {
      const mock = registryMock()
      const out = yield* call(contreeRegistryTokenObtain, { registry_url: "docker://registry.example.com/app:1" }).pipe(
        Effect.provide(toolServices({ registry: mock.layer }))
      )
      assert.strictEqual(out["status"], "error")
      assert.strictEqual(out["registry"], "registry.example.com")
      assert.strictEqual(out["url"], "")
      assert.strictEqual(out["agent_instruction"], "")
      assert.strictEqual(out["browser_opened"], false)
      assert.include(out["message"], "Unknown registry")
      assert.deepStrictEqual(mock.state.opened, [])
    }))

  it.effect("rejects a URL it cannot parse", () =>
    Effect.gen(function*() {
      const error = yield* callFails(contreeRegistryTokenObtain, { registry_url: "https://ghcr.io" })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "registry_url: unsupported scheme")
    }).pipe(Effect.provide(toolServices())))
})

describe("contree_registry_auth", () => {
  it.effect("logs in with the registry the URL names, passing the token trimmed, and confirms", () =>
    Effect.gen(function*() {
      const mock = registryMock()
      const out = yield* call(contreeRegistryAuth, { registry_url: "oci://ghcr.io/org/img", username: " octocat ", token: `${TOKEN}\n` }).pipe(
        Effect.provide(toolServices({ registry: mock.layer }))
      )
      assert.deepStrictEqual(mock.state.logins, [{ registry: "ghcr.io", username: "octocat", token: TOKEN }])
      assert.deepStrictEqual(Object.keys(out), ["status", "registry", "message"])
      assert.strictEqual(out["status"], "success")
      assert.strictEqual(out["registry"], "ghcr.io")
      assert.include(out["message"], "successfully")
      assert.include(out["message"], "octocat")
      assert.notInclude(JSON.stringify(out), TOKEN)
    }))

  it.effect("maps bare names to docker.io", () =>
    Effect.gen(function*() {
      const mock = registryMock()
      yield* call(contreeRegistryAuth, { registry_url: "alpine", username: "u", token: TOKEN }).pipe(Effect.provide(toolServices({ registry: mock.layer })))
      assert.strictEqual(mock.state.logins[0]?.registry, "docker.io")
    }))

  it.effect("reports invalid credentials as an error status saying 'invalid', without the token", () =>
    Effect.gen(function*() {
      const mock = registryMock({ check: { _tag: "Invalid", detail: "the token service at ghcr.io answered 401" } })
      const out = yield* call(contreeRegistryAuth, { registry_url: "ghcr.io", username: "u", token: TOKEN }).pipe(
        Effect.provide(toolServices({ registry: mock.layer }))
      )
      assert.strictEqual(out["status"], "error")
      assert.match(String(out["message"]), /invalid/i)
      assert.include(out["message"], "answered 401")
      assert.include(out["message"], "Nothing was stored")
      assert.notInclude(JSON.stringify(out), TOKEN)
    }))

  it.effect("explains a registry that needs no credentials", () =>
    Effect.gen(function*() {
      const mock = registryMock({ check: { _tag: "NotRequired" } })
      const out = yield* call(contreeRegistryAuth, { registry_url: "localhost:5000", username: "u", token: TOKEN }).pipe(
        Effect.provide(toolServices({ registry: mock.layer }))
      )
      assert.strictEqual(out["status"], "error")
      assert.include(out["message"], "i_accept_that_anonymous_access_might_be_rate_limited=true")
    }))

  it.effect("turns registry failures into tool errors naming the registry", () =>
    Effect.gen(function*() {
      const cases = [
        ["Transport", "Upstream"],
        ["Timeout", "Timeout"],
        ["Unavailable", "Upstream"],
        ["Unsupported", "InvalidInput"],
        ["Insecure", "InvalidInput"],
        ["Store", "Internal"]
      ] as const
      for (const [reason, expected] of cases) {
        const mock = registryMock({ check: new RegistryError({ reason, registry: "ghcr.io", message: "it went wrong" }) })
        const error = yield* callFails(contreeRegistryAuth, { registry_url: "ghcr.io", username: "u", token: TOKEN }).pipe(
          Effect.provide(toolServices({ registry: mock.layer }))
        )
        assert.strictEqual(error.reason, expected, reason)
        assert.include(error.message, "it went wrong")
        if (reason !== "Store") assert.include(error.message, "registry ghcr.io")
      }
    }))

  it.effect("never echoes a token in argument errors, whatever its type", () =>
    Effect.gen(function*() {
      for (const token of [12345678, [TOKEN], { value: TOKEN }, "   "]) {
        const error = yield* callFails(contreeRegistryAuth, { registry_url: "ghcr.io", username: "u", token })
        assert.strictEqual(error.reason, "InvalidInput")
        assert.include(error.message, "token:")
        assert.notInclude(error.message, TOKEN)
        assert.notInclude(error.message, "12345678")
      }
      const misnamed = yield* callFails(contreeRegistryAuth, { registry_url: "ghcr.io", username: "u", token: "x", password: TOKEN })
      assert.include(misnamed.message, "password")
      assert.notInclude(misnamed.message, TOKEN)
    }).pipe(Effect.provide(toolServices())))
})

describe("contree_import_image", () => {
  it.effect("imports a local archive without looking up credentials, reporting bytes as increasing progress", () =>
    Effect.gen(function*() {
      const registry = registryMock()
      const h = importHarness(registry, { work: [{ done: 0, total: 0 }, { done: 4096, total: 8192 }, { done: 4096, total: 8192 }, { done: 8192, total: 8192 }] })
      const out = yield* call(contreeImportImage, { registry_url: "oci-archive:/srv/images/app.tar:v1", tag: "app:1" }).pipe(Effect.provide(h.layer))
      assert.deepStrictEqual(registry.state.lookups, [])
      assert.deepStrictEqual(h.state.bodies, [{ registry: { url: "oci-archive:/srv/images/app.tar:v1" }, tag: "app:1", timeout: 300 }])
      assert.strictEqual(out["result_image"], IMPORTED)
      // The status came first (elapsed seconds); then bytes, each reported once.
      assert.deepStrictEqual(h.state.progress.slice(1).map((p) => [p.progress, p.total]), [[4096, 8192], [8192, 8192]])
      assert.match(h.state.progress[1]?.message ?? "", / MiB read$/)
    }))

  it.effect("refuses a local source given by a relative path", () =>
    Effect.gen(function*() {
      const h = importHarness(registryMock())
      const error = yield* callFails(contreeImportImage, { registry_url: "docker-archive:saved.tar" }).pipe(Effect.provide(h.layer))
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "absolute path")
      assert.deepStrictEqual(h.state.bodies, [])
    }))

  it.effect("refuses an anonymous pull by default, naming the host and the way out, before calling ConTree", () =>
    Effect.gen(function*() {
      const h = importHarness(registryMock())
      const error = yield* callFails(contreeImportImage, { registry_url: "ghcr.io/org/app:1" }).pipe(Effect.provide(h.layer))
      assert.strictEqual(error.reason, "Unauthorized")
      assert.include(error.message, "'ghcr.io'")
      assert.include(error.message, "contree_registry_token_obtain")
      assert.include(error.message, "contree_registry_auth")
      assert.include(error.message, "i_accept_that_anonymous_access_might_be_rate_limited=true")
      assert.deepStrictEqual(h.state.bodies, [])
    }))

  it.effect("with the anonymous flag, imports without sending any credentials", () =>
    Effect.gen(function*() {
      const registry = registryMock()
      const h = importHarness(registry)
      yield* call(contreeImportImage, { registry_url: "alpine", i_accept_that_anonymous_access_might_be_rate_limited: true }).pipe(
        Effect.provide(h.layer)
      )
      assert.deepStrictEqual(registry.state.lookups, ["docker.io"])
      assert.deepStrictEqual(h.state.bodies, [{ registry: { url: "docker://docker.io/library/alpine:latest" }, timeout: 300 }])
    }))

  it.effect("sends the stored (revalidated) credentials and the tag", () =>
    Effect.gen(function*() {
      const registry = registryMock({ stored: storedCredentials() })
      const h = importHarness(registry)
      const out = yield* call(contreeImportImage, { registry_url: "docker://ghcr.io/org/app:1.2", tag: "app:1.2" }).pipe(Effect.provide(h.layer))
      assert.deepStrictEqual(registry.state.lookups, ["ghcr.io"])
      assert.deepStrictEqual(h.state.bodies, [{
        registry: { url: "docker://ghcr.io/org/app:1.2", credentials: { username: "deploy", password: TOKEN } },
        tag: "app:1.2",
        timeout: 300
      }])
      assert.notInclude(JSON.stringify(out), TOKEN)
    }))

  it.effect("stored credentials the registry refused: fails naming the host, or goes anonymous with the flag", () =>
    Effect.gen(function*() {
      const rejected: StoredCredentials = { _tag: "Rejected", detail: "the token service at ghcr.io answered 401" }
      const refused = importHarness(registryMock({ stored: rejected }))
      const error = yield* callFails(contreeImportImage, { registry_url: "ghcr.io/org/app" }).pipe(Effect.provide(refused.layer))
      assert.strictEqual(error.reason, "Unauthorized")
      assert.include(error.message, "'ghcr.io'")
      assert.include(error.message, "refused")
      assert.deepStrictEqual(refused.state.bodies, [])

      const anonymous = importHarness(registryMock({ stored: rejected }))
      yield* call(contreeImportImage, { registry_url: "ghcr.io/org/app", i_accept_that_anonymous_access_might_be_rate_limited: true }).pipe(
        Effect.provide(anonymous.layer)
      )
      assert.deepStrictEqual(anonymous.state.bodies, [{ registry: { url: "docker://ghcr.io/org/app:latest" }, timeout: 300 }])
    }))

  it.effect("fails with the registry's error when the credentials cannot be checked", () =>
    Effect.gen(function*() {
      const h = importHarness(registryMock({ stored: new RegistryError({ reason: "Unavailable", registry: "ghcr.io", message: "answered 503" }) }))
      const error = yield* callFails(contreeImportImage, { registry_url: "ghcr.io/org/app", i_accept_that_anonymous_access_might_be_rate_limited: true }).pipe(
        Effect.provide(h.layer)
      )
      assert.strictEqual(error.reason, "Upstream")
      assert.include(error.message, "registry ghcr.io: answered 503")
      assert.deepStrictEqual(h.state.bodies, [])
    }))

  it.effect("wait=false tracks the operation and returns it pending", () =>
    Effect.gen(function*() {
      const h = importHarness(registryMock({ stored: storedCredentials() }))
      const out = yield* call(contreeImportImage, { registry_url: "ghcr.io/org/app", wait: false }).pipe(Effect.provide(h.layer))
      assert.deepStrictEqual(out, { operation_id: "imp-1", kind: "image_import", status: "PENDING" })
      assert.deepStrictEqual(h.state.tracked, ["imp-1"])
      assert.deepStrictEqual(h.state.waits, [])
    }))

  it.effect("reports a registry import's bytes as fetched", () =>
    Effect.gen(function*() {
      const h = importHarness(registryMock({ stored: storedCredentials() }), { work: [{ done: 2 * 1024 * 1024, total: 4 * 1024 * 1024 }] })
      yield* call(contreeImportImage, { registry_url: "ghcr.io/org/app:1" }).pipe(Effect.provide(h.layer))
      assert.deepStrictEqual(h.state.progress.slice(1).map((p) => [p.progress, p.total, p.message]), [
        [2 * 1024 * 1024, 4 * 1024 * 1024, "import imp-1: 2.0 of 4.0 MiB fetched"]
      ])
    }))

  it.effect("wait=true waits with a deadline, sends progress and returns the flat view with the result image", () =>
    Effect.gen(function*() {
      const h = importHarness(registryMock({ stored: storedCredentials() }))
      const out = yield* call(contreeImportImage, { registry_url: "ghcr.io/org/app:1", tag: "app:1" }).pipe(Effect.provide(h.layer))
      assert.deepStrictEqual(h.state.tracked, ["imp-1"])
      assert.strictEqual(h.state.waits[0]?.id, "imp-1")
      const timeout = h.state.waits[0]?.options?.timeout
      assert.isTrue(timeout !== undefined && Duration.equals(timeout, Duration.sum(Duration.seconds(300), Duration.minutes(5))))
      assert.strictEqual(h.state.progress.length, 1)
      assert.include(h.state.progress[0]?.message ?? "", "imp-1 is EXECUTING")
      assert.deepStrictEqual(out, {
        operation_id: "imp-1",
        kind: "image_import",
        status: "SUCCESS",
        registry_url: "docker://ghcr.io/org/app:1",
        result_image: IMPORTED,
        result_tag: "app:1",
        duration: 4
      })
    }))

  it.effect("rejects a URL that names only a registry, and bad tags, before anything else", () =>
    Effect.gen(function*() {
      const registry = registryMock({ stored: storedCredentials() })
      const h = importHarness(registry)
      const hostOnly = yield* callFails(contreeImportImage, { registry_url: "docker://ghcr.io" }).pipe(Effect.provide(h.layer))
      assert.strictEqual(hostOnly.reason, "InvalidInput")
      assert.include(hostOnly.message, "but no image")
      const badUrl = yield* callFails(contreeImportImage, { registry_url: "ftp://ghcr.io/a" }).pipe(Effect.provide(h.layer))
      assert.strictEqual(badUrl.reason, "InvalidInput")
      const emptyTag = yield* callFails(contreeImportImage, { registry_url: "alpine", tag: "" }).pipe(Effect.provide(h.layer))
      assert.include(emptyTag.message, "tag")
      assert.deepStrictEqual(registry.state.lookups, [])
      assert.deepStrictEqual(h.state.bodies, [])
    }))

  it.effect("keeps the registry token out of API errors that echo the request", () =>
    Effect.gen(function*() {
      const echo = new ContreeApiError({
        reason: "InvalidRequest",
        status: 400,
        method: "POST",
        path: "/images/import",
        message: `bad request: {"credentials":{"username":"deploy","password":"${TOKEN}"}}`
      })
      const h = importHarness(registryMock({ stored: storedCredentials() }), { importError: echo })
      const error = yield* callFails(contreeImportImage, { registry_url: "ghcr.io/org/app" }).pipe(Effect.provide(h.layer))
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, `"password":"<redacted>"`)
      assert.notInclude(error.message, TOKEN)
    }))
})
