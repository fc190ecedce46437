/**
 * RegistryAuth over HTTP (the OCI distribution auth flow) and a credential file.
 *
 * Validation, decided against the reference (spec §11):
 * 1. `GET <scheme>://<api host>/v2/` without credentials (redirects followed).
 *    - 401 with `Bearer realm=...,service=...`: `GET <realm>?service=<service>` with Basic auth.
 *      200 means valid; 401 or 403 means invalid. No scope is asked for: any valid account may
 *      log in, and the pull itself is ConTree's business.
 *    - 401 with `Basic`: `GET /v2/` again with Basic auth; 200 valid, 401/403 invalid (the
 *      reference knew only Bearer and called every Basic registry's credentials invalid).
 *    - 200: the registry lets anyone in; `/v2/_catalog` is asked the same way (some registries
 *      guard only that), and if it does not ask either, the credentials cannot be checked:
 *      `NotRequired`.
 * 2. Any other status (404: not a registry; 429, 5xx: trouble) is an error, not "invalid": the
 *    reference deleted stored credentials whenever the token service answered anything but 200,
 *    so a registry outage logged the user out.
 *
 * Transport security: https everywhere, except loopback registries and those the user lists as
 * insecure (`--insecure-registries`), which get plain http. A token realm on plain http is
 * refused unless its host is loopback or listed too, so credentials never cross the network in
 * clear text because a registry said so. Undici drops the Authorization header on cross-origin
 * redirects, so a redirecting realm cannot forward them either.
 *
 * Requests have a per-attempt timeout and are retried (idempotent GETs) on transport errors,
 * timeouts, 429 and 5xx with the shared RetryPolicy schedule.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Cause, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { type AuthChallenge, parseWwwAuthenticate } from "../domain/RegistryUrl.js"
import { ContreeConfig } from "../services/ContreeConfig.js"
import {
  type CredentialCheck,
  RegistryAuth,
  type RegistryCredentials,
  RegistryError,
  type StoredCredentials
} from "../services/RegistryAuth.js"
import { RetryPolicy } from "../services/RetryPolicy.js"
import { basicAuthorization, registryBaseUrl, registryUserAgent, tokenRealmUrl, transportErrorCode } from "../domain/RegistryHttp.js"
import { makeCredentialFile } from "./RegistryCredentialFile.js"
import { openBrowser as openBrowserHere } from "./openBrowser.js"

export interface RegistryAuthOptions {
  /** The credential file (see RegistryCredentialFile.ts). */
  readonly credentialsPath: string
  /** Registries (`host` or `host:port`) spoken to over plain HTTP besides loopback ones. */
  readonly insecureRegistries: ReadonlyArray<string>
  /** Replaces the browser launcher (tests). */
  readonly openBrowser?: (url: string) => Effect.Effect<boolean>
}

interface Answer {
  readonly status: number
  readonly challenge: Option.Option<AuthChallenge>
}

export const makeRegistryAuth = (options: RegistryAuthOptions) =>
  Effect.gen(function*() {
    const policy = yield* RetryPolicy
    const store = yield* makeCredentialFile(options.credentialsPath)
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.setHeader("user-agent", registryUserAgent)),
      HttpClient.transformResponse(Effect.timeout(policy.requestTimeout)),
      HttpClient.retryTransient({ schedule: policy.transient })
    )

    const fail = (registry: string, reason: RegistryError["reason"], message: string) =>
      new RegistryError({ reason, registry, message })

    const baseUrl = (registry: string) => registryBaseUrl(registry, options.insecureRegistries)
    const basic = (credentials: RegistryCredentials) => Redacted.value(basicAuthorization(credentials))

    /** One GET: its status and challenge. The body is drained and dropped: a token service's body holds a token. */
    const get = (registry: string, url: string, authorization?: string): Effect.Effect<Answer, RegistryError> => {
      const request = HttpClientRequest.get(url).pipe(
        authorization === undefined ? (r) => r : HttpClientRequest.setHeader("authorization", authorization)
      )
      const host = /^[a-z]+:\/\/([^/?#]*)/i.exec(url)?.[1] ?? url
      return client.execute(request).pipe(
        Effect.catchAll((error) =>
          Effect.fail(
            Cause.isTimeoutException(error)
              ? fail(registry, "Timeout", `${host} did not answer within ${Duration.format(policy.requestTimeout)}`)
              : fail(registry, "Transport", `cannot reach ${host} (${transportErrorCode(error)})`)
          )
        ),
        Effect.flatMap((response: HttpClientResponse.HttpClientResponse) =>
          Effect.as(Effect.ignore(Effect.timeout(response.arrayBuffer, policy.requestTimeout)), {
            status: response.status,
            challenge: parseWwwAuthenticate(response.headers["www-authenticate"])
          })
        ),
        Effect.withSpan("RegistryAuth.get", { attributes: { url } })
      )
    }

    const unexpected = (registry: string, what: string, status: number) =>
      fail(
        registry,
        status === 404 ? "Unsupported" : "Unavailable",
        status === 404
          ? `${registry} does not look like a container registry: ${what} answered 404`
          : `${registry} could not check the credentials: ${what} answered ${status}${status === 429 || status >= 500 ? "; try again later" : ""}`
      )

    /**
     * How the registry wants to be authenticated, and at which path it asked (a Basic check must
     * go there: `/v2/` may be open when only `/v2/_catalog` is not), or none when it lets anyone in.
     */
    const discover = (registry: string): Effect.Effect<Option.Option<{ readonly challenge: AuthChallenge; readonly path: string }>, RegistryError> =>
      Effect.gen(function*() {
        const base = baseUrl(registry)
        const challengeAt = (answer: Answer, path: string) =>
          Option.isSome(answer.challenge)
            ? Effect.succeed(Option.some({ challenge: answer.challenge.value, path }))
            : Effect.fail(fail(registry, "Unsupported", `${registry} answered GET ${path} with 401 but no Bearer or Basic challenge`))
        const root = yield* get(registry, `${base}/v2/`)
        if (root.status === 401) return yield* challengeAt(root, "/v2/")
        if (root.status !== 200) return yield* unexpected(registry, "GET /v2/", root.status)
        const catalog = yield* get(registry, `${base}/v2/_catalog`)
        return catalog.status === 401 ? yield* challengeAt(catalog, "/v2/_catalog") : Option.none()
      })

    const verdict = (registry: string, what: string, status: number): Effect.Effect<CredentialCheck, RegistryError> =>
      status === 200
        ? Effect.succeed({ _tag: "Valid" })
        : status === 401 || status === 403
        ? Effect.succeed({ _tag: "Invalid", detail: `${what} answered ${status}` })
        : Effect.fail(unexpected(registry, what, status))

    const validate = (registry: string, credentials: RegistryCredentials): Effect.Effect<CredentialCheck, RegistryError> =>
      Effect.gen(function*() {
        const discovered = yield* discover(registry)
        if (Option.isNone(discovered)) return { _tag: "NotRequired" } as const
        const { challenge, path } = discovered.value
        if (challenge.scheme === "Basic") {
          const answer = yield* get(registry, `${baseUrl(registry)}${path}`, basic(credentials))
          return yield* verdict(registry, `GET ${path} with the credentials`, answer.status)
        }
        const realm = tokenRealmUrl(registry, challenge, options.insecureRegistries)
        if (Either.isLeft(realm)) return yield* fail(registry, realm.left.reason, realm.left.message)
        const url = realm.right
        yield* Effect.logDebug(`checking credentials for ${registry} with the token service at ${url.host}`)
        const answer = yield* get(registry, url.toString(), basic(credentials))
        return yield* verdict(registry, `the token service at ${url.host}`, answer.status)
      }).pipe(Effect.withSpan("RegistryAuth.validate", { attributes: { registry } }))

    const login = (registry: string, credentials: RegistryCredentials) =>
      Effect.tap(validate(registry, credentials), (check) => check._tag === "Valid" ? store.put(registry, credentials) : Effect.void)

    const credentialsFor = (registry: string): Effect.Effect<StoredCredentials, RegistryError> =>
      Effect.gen(function*() {
        const stored = yield* store.get(registry)
        if (Option.isNone(stored)) return { _tag: "None" } as const
        const check = yield* validate(registry, stored.value)
        switch (check._tag) {
          case "Invalid":
            yield* store.remove(registry)
            yield* Effect.logWarning(`stored credentials for ${registry} were refused (${check.detail}) and have been removed`)
            return { _tag: "Rejected", detail: check.detail } as const
          // A registry that stopped asking for credentials is still pulled from with them: they were valid when stored.
          case "NotRequired":
          case "Valid":
            return { _tag: "Valid", credentials: stored.value } as const
        }
      })

    return RegistryAuth.of({
      validate,
      login,
      credentialsFor,
      openBrowser: options.openBrowser ?? ((url) => openBrowserHere(url))
    })
  })

/** The production layer: settings from ContreeConfig, requests through the app's HttpClient. */
export const RegistryAuthLive: Layer.Layer<RegistryAuth, never, HttpClient.HttpClient | ContreeConfig> = Layer.effect(
  RegistryAuth,
  Effect.flatMap(ContreeConfig, (config) =>
    makeRegistryAuth({ credentialsPath: config.registryCredentials, insecureRegistries: config.insecureRegistries }))
)
