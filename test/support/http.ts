import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect, Layer, Option, Redacted, Schedule } from "effect"
import { ContreeClientLive } from "../../src/layers/ContreeClientLive.js"
import { ContreeConfig, type ContreeConfigShape } from "../../src/services/ContreeConfig.js"
import { defaultRetryPolicy, RetryPolicy, type RetryPolicyShape } from "../../src/services/RetryPolicy.js"

export const TOKEN = "s3cr3t-T0KEN-do-not-leak"

export const config = (overrides: Partial<ContreeConfigShape> = {}): ContreeConfigShape => ({
  url: "https://api.example.com",
  token: Option.some(Redacted.make(TOKEN)),
  mode: "stdio",
  logLevel: "warning",
  httpListen: "127.0.0.1",
  httpPort: 9452,
  // Unit tests that build ContreeLive must not leave a database behind.
  cacheFiles: ":memory:",
  cacheGeneral: "/tmp/cache.db",
  cachePruneDays: 60,
  registryCredentials: "/tmp/registry-credentials.json",
  insecureRegistries: [],
  backend: "cloud",
  dataDir: "/nonexistent/contree-data",
  network: "off",
  ...overrides
})

/** A request as the mock saw it. */
export interface Seen {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

export type Reply = Response | Effect.Effect<Response, HttpClientError.HttpClientError>

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

export const empty = (status: number, headers: Record<string, string> = {}): Response => new Response(null, { status, headers })

export const transportError = (request: HttpClientRequest.HttpClientRequest, cause: unknown = new Error("socket hang up")) =>
  Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))

const bodyText = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  const body = request.body
  switch (body._tag) {
    case "Uint8Array":
      return new TextDecoder().decode(body.body)
    case "Raw":
      return typeof body.body === "string" ? body.body : "<raw>"
    case "Empty":
      return undefined
    default:
      return `<${body._tag}>`
  }
}

/**
 * A mock HTTP client: every request is recorded in `seen` and answered by `reply`. No request
 * leaves the process.
 */
export const mockHttp = (reply: (request: HttpClientRequest.HttpClientRequest, url: URL, n: number) => Reply) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      seen.push({ method: request.method, url, headers: request.headers, body: bodyText(request) })
      const answer = reply(request, url, seen.length)
      return (answer instanceof Response ? Effect.succeed(answer) : answer).pipe(
        Effect.map((response) => HttpClientResponse.fromWeb(request, response))
      )
    })
  )
  return { seen, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

/** Immediate retries (at most `retries`), so tests need no clock unless they test delays. */
export const fastPolicy = (overrides: Partial<RetryPolicyShape> = {}, retries = 3): RetryPolicyShape => ({
  ...defaultRetryPolicy,
  transient: Schedule.recurs(retries),
  ...overrides
})

export const clientLayer = (
  http: Layer.Layer<HttpClient.HttpClient>,
  options: { readonly config?: Partial<ContreeConfigShape>; readonly policy?: RetryPolicyShape } = {}
) =>
  ContreeClientLive.pipe(
    Layer.provide(Layer.mergeAll(
      http,
      Layer.succeed(ContreeConfig, config(options.config)),
      Layer.succeed(RetryPolicy, options.policy ?? fastPolicy())
    ))
  )
