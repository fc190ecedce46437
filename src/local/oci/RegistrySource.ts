/**
 * An image in an OCI distribution registry (Docker Hub, ghcr.io, a registry on this machine) as an
 * `ImageSource` for the local backend's import.
 *
 * - Transport: https, except loopback registries and those listed as insecure. Every URL a
 *   registry sends us to (token realm, redirect) is held to the same rule.
 * - Auth: a request is first sent as it is; a 401 names the way in. A Bearer challenge is answered
 *   with a token for `repository:NAME:pull` from its realm (asked with the stored credentials as
 *   Basic, or anonymously), a Basic challenge with the stored credentials. A 401 on a request that
 *   already carried a token gets one fresh token (they expire), then is an error.
 * - Manifests: asked for with every media type we read; an index is followed to the host's
 *   platform. The digest is computed from the bytes and must match the registry's
 *   `Docker-Content-Digest` and, when pulled by digest, the one asked for.
 * - Blobs: streamed as they arrive; redirects (to object storage) are followed by hand so that
 *   the Authorization header never leaves the host it was issued for.
 * - Retries: transport errors, time-outs, 429 (honouring Retry-After) and 5xx, with the shared
 *   RetryPolicy; a blob download that breaks off is resumed with a Range request.
 *
 * Errors never contain a token, a credential or what a server wrote: only hosts, statuses,
 * registry error codes and our own words.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Chunk, Data, Duration, Effect, Either, Option, ParseResult, Redacted, Ref, Schema, Stream } from "effect"
import { type AuthChallenge, parseWwwAuthenticate, type RegistryReference } from "../../domain/RegistryUrl.js"
import {
  basicAuthorization,
  registryBaseUrl,
  registryUserAgent,
  tokenRealmUrl,
  transportErrorCode,
  vetRegistryUrl
} from "../../domain/RegistryHttp.js"
import type { RegistryCredentials } from "../../services/RegistryAuth.js"
import { parseRetryAfter, RetryPolicy, type RetryVerdict, retryWhile } from "../../services/RetryPolicy.js"
import { LocalEngineError, type LocalErrorReason } from "../LocalEngineError.js"
import { digestOf, isCheckableAlgorithm } from "./Digest.js"
import type { ImageSource, ResolvedImage } from "./ImageSource.js"
import { ACCEPTED_MANIFESTS, type Descriptor, ImageIndex, ImageManifest, isIndex, selectPlatform } from "./Manifest.js"

export interface RegistrySourceOptions {
  readonly reference: RegistryReference
  /** Stored credentials for the registry, or none for an anonymous pull. */
  readonly credentials: Option.Option<RegistryCredentials>
  /** Hosts (`host:port`) that may be reached over plain HTTP; loopback always may. */
  readonly insecureRegistries: ReadonlyArray<string>
}

/** Manifests and token answers are small; a larger body is not what we asked for. */
const DOCUMENT_LIMIT = 4 * 1024 * 1024
const MAX_REDIRECTS = 5
/** The OCI digest grammar: it also keeps a digest from adding path segments to a URL. */
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

const TokenAnswer = Schema.Struct({ token: Schema.optional(Schema.String), access_token: Schema.optional(Schema.String) })
const RegistryErrors = Schema.Struct({ errors: Schema.Array(Schema.Struct({ code: Schema.String })) })

/** One failed attempt: the error to report, and whether another attempt may succeed. */
class Failed extends Data.TaggedError("Failed")<{
  readonly error: LocalEngineError
  readonly retry: boolean
  readonly afterMs: number | undefined
}> implements RetryVerdict {}

const failed = (reason: LocalErrorReason, message: string, retry = false, afterMs?: number) =>
  new Failed({ error: new LocalEngineError({ reason, message }), retry, afterMs })

const isRedirect = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 || status === 308

/** Reads a whole body of at most `limit` bytes. */
const readLimited = (response: HttpClientResponse.HttpClientResponse, limit: number, what: string) =>
  response.stream.pipe(
    Stream.mapError(() => failed("Unavailable", `${what}: the connection broke while reading the answer`, true)),
    Stream.runFoldEffect(Chunk.empty<Uint8Array>(), (chunks, chunk) => {
      const size = Chunk.reduce(chunks, chunk.length, (n, c) => n + c.length)
      return size > limit
        ? Effect.fail(failed("Unavailable", `${what}: the answer is larger than ${limit} bytes`))
        : Effect.succeed(Chunk.append(chunks, chunk))
    }),
    Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)))
  )

/** Drops a body we will not read, so the connection can be reused; never fails. */
const discard = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.ignore(Effect.timeout(Stream.runDrain(Stream.take(response.stream, 64)), "5 seconds"))

/** The registry's error codes (`MANIFEST_UNKNOWN`, ...) from an error body: safe to show, unlike its messages. */
const errorCodes = (body: Uint8Array): string => {
  try {
    const decoded = Schema.decodeUnknownOption(RegistryErrors)(JSON.parse(Buffer.from(body).toString("utf8")))
    const codes = Option.match(decoded, {
      onNone: () => [],
      onSome: ({ errors }) => errors.map((e) => e.code).filter((code) => /^[A-Z_]{1,64}$/.test(code))
    })
    return codes.length === 0 ? "" : ` (${codes.join(", ")})`
  } catch {
    return ""
  }
}

/** What every request for one image of one registry shares. */
interface Session {
  readonly http: HttpClient.HttpClient
  readonly policy: RetryPolicy["Type"]
  readonly registry: string
  readonly repository: string
  /** `:tag` or `@digest`. */
  readonly reference: string
  /** `registry/repository:tag`, as errors name the image. */
  readonly name: string
  readonly base: string
  readonly insecureRegistries: ReadonlyArray<string>
  readonly credentials: Option.Option<RegistryCredentials>
  /** What the registry's last challenge was answered with: none until one is asked for. */
  readonly authorization: Ref.Ref<Option.Option<Redacted.Redacted<string>>>
  /** What to do about a refusal. */
  readonly loginHint: string
}

/** One GET, following redirects by hand: Authorization only goes to the host it was meant for. */
const get = (
  s: Session,
  url: URL,
  headers: Record<string, string>,
  auth: Option.Option<Redacted.Redacted<string>>,
  hops = 0
): Effect.Effect<HttpClientResponse.HttpClientResponse, Failed> =>
  s.http.execute(
    HttpClientRequest.get(url).pipe(
      HttpClientRequest.setHeaders(headers),
      Option.match(auth, { onNone: () => (r) => r, onSome: (value) => HttpClientRequest.setHeader("authorization", Redacted.value(value)) })
    )
  ).pipe(
    Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }),
    Effect.mapError((error) => failed("Unavailable", `cannot reach ${url.host} (${transportErrorCode(error)})`, true)),
    Effect.flatMap((response) => {
      const location = response.headers["location"]
      if (!isRedirect(response.status) || location === undefined) return Effect.succeed(response)
      if (hops >= MAX_REDIRECTS) return Effect.fail(failed("Unavailable", `${url.host} redirected more than ${MAX_REDIRECTS} times`))
      return discard(response).pipe(
        Effect.zipRight(
          Either.match(vetRegistryUrl(s.registry, "a download", new URL(location, url).toString(), s.insecureRegistries), {
            onLeft: (refused) => Effect.fail(failed("InvalidRequest", refused.message)),
            onRight: (next) => get(s, next, headers, next.host === url.host ? auth : Option.none(), hops + 1)
          })
        )
      )
    })
  )

/** A token for the Bearer challenge, from its realm, with the stored credentials when there are some. */
const bearerToken = (s: Session, challenge: Extract<AuthChallenge, { scheme: "Bearer" }>) =>
  Effect.gen(function*() {
    const { credentials, insecureRegistries, loginHint, registry, repository } = s
    const realm = tokenRealmUrl(registry, challenge, insecureRegistries, `repository:${repository}:pull`)
    if (Either.isLeft(realm)) return yield* failed("InvalidRequest", realm.left.message)
    const url = realm.right
    const response = yield* get(s, url, { accept: "application/json" }, Option.map(credentials, basicAuthorization))
    if (response.status === 401 || response.status === 403) {
      yield* discard(response)
      return yield* failed("InvalidRequest", `the token service at ${url.host} answered ${response.status}: ${loginHint}`)
    }
    if (response.status !== 200) {
      yield* discard(response)
      const retry = response.status === 429 || response.status >= 500
      return yield* failed("Unavailable", `the token service at ${url.host} answered ${response.status}`, retry, parseRetryAfter(response.headers["retry-after"]))
    }
    const body = yield* readLimited(response, DOCUMENT_LIMIT, `the token service at ${url.host}`)
    const answer = yield* Effect.try(() => JSON.parse(body.toString("utf8")) as unknown).pipe(
      Effect.flatMap(Schema.decodeUnknown(TokenAnswer)),
      Effect.mapError(() => failed("Unavailable", `the token service at ${url.host} answered with something other than a token`))
    )
    const token = answer.token ?? answer.access_token
    if (token === undefined || token === "") return yield* failed("Unavailable", `the token service at ${url.host} answered without a token`)
    return Redacted.make(`Bearer ${token}`)
  })

/** Answers a 401's challenge: the Authorization header to try again with. */
const answerChallenge = (s: Session, response: HttpClientResponse.HttpClientResponse) =>
  Effect.gen(function*() {
    const { credentials, registry } = s
    const challenge = parseWwwAuthenticate(response.headers["www-authenticate"])
    yield* discard(response)
    if (Option.isNone(challenge)) return yield* failed("InvalidRequest", `${registry} asked for authentication in a way we cannot answer`)
    if (challenge.value.scheme === "Bearer") return yield* bearerToken(s, challenge.value)
    if (Option.isNone(credentials)) {
      return yield* failed("InvalidRequest", `${registry} asks for a username and token: run contree_registry_auth for ${registry} first`)
    }
    return basicAuthorization(credentials.value)
  })

/**
 * One attempt at `url` on the registry, read by `read` within the request timeout: a 401 is
 * answered once, other failures say whether they may be retried.
 */
const attempt = <A>(
  s: Session,
  url: URL,
  headers: Record<string, string>,
  what: string,
  read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, Failed>
): Effect.Effect<A, Failed> =>
  Effect.gen(function*() {
    const { loginHint, registry } = s
    let response = yield* get(s, url, headers, yield* Ref.get(s.authorization))
    if (response.status === 401) {
      const answer = yield* answerChallenge(s, response)
      yield* Ref.set(s.authorization, Option.some(answer))
      response = yield* get(s, url, headers, Option.some(answer))
    }
    if (response.status >= 200 && response.status < 300) return yield* read(response)
    const body = yield* readLimited(response, DOCUMENT_LIMIT, what).pipe(Effect.orElseSucceed(() => Buffer.alloc(0)))
    const status = response.status
    const codes = errorCodes(body)
    if (status === 401 || status === 403) return yield* failed("InvalidRequest", `${registry} refused ${what} (${status}${codes}): ${loginHint}`)
    if (status === 404) return yield* failed("NotFound", `${what}: ${registry} has no such repository, tag or digest (404${codes})`)
    const retry = status === 429 || status >= 500
    return yield* failed("Unavailable", `${registry} answered ${status}${codes} to ${what}`, retry, parseRetryAfter(response.headers["retry-after"]))
  }).pipe(
    Effect.timeoutFail({
      duration: s.policy.requestTimeout,
      onTimeout: () => failed("Unavailable", `${s.registry} did not answer ${what} within ${Duration.format(s.policy.requestTimeout)}`, true)
    })
  )

const request = <A>(
  s: Session,
  url: URL,
  headers: Record<string, string>,
  what: string,
  read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, Failed>
): Effect.Effect<A, LocalEngineError> =>
  attempt(s, url, headers, what, read).pipe(Effect.retry(retryWhile<Failed>(s.policy)), Effect.mapError((f) => f.error))

/** The manifest at a tag or digest, its bytes checked against the digests the registry and the caller claim. */
const manifest = (s: Session, ref: string, pinned: Option.Option<string>) =>
  request(
    s,
    new URL(`${s.base}/v2/${s.repository}/manifests/${ref}`),
    { accept: ACCEPTED_MANIFESTS.join(", ") },
    `the manifest of ${s.name}`,
    (response) =>
      Effect.gen(function*() {
        const { name } = s
        const bytes = yield* readLimited(response, DOCUMENT_LIMIT, `the manifest of ${name}`)
        const claimed = Option.orElse(pinned, () => Option.fromNullable(response.headers["docker-content-digest"]))
        const algorithm = Option.getOrElse(Option.map(claimed, (d) => d.split(":")[0]!), () => "sha256")
        if (!isCheckableAlgorithm(algorithm)) return yield* failed("InvalidRequest", `${name}: cannot check a ${algorithm} digest`)
        const digest = digestOf(bytes, algorithm)
        for (const expected of [pinned, Option.fromNullable(response.headers["docker-content-digest"])]) {
          if (Option.isSome(expected) && expected.value.startsWith(`${algorithm}:`) && expected.value !== digest) {
            return yield* failed("Unavailable", `the manifest of ${name} does not match its digest ${expected.value} (its bytes hash to ${digest})`)
          }
        }
        const document = yield* Effect.try(() => JSON.parse(bytes.toString("utf8")) as unknown).pipe(
          Effect.mapError(() => failed("Unavailable", `the manifest of ${name} is not JSON`))
        )
        return { digest, document }
      })
  )

const decode = <A, I>(s: Session, schema: Schema.Schema<A, I>, document: unknown, what: string) =>
  Schema.decodeUnknown(schema)(document).pipe(
    Effect.mapError((error) =>
      new LocalEngineError({
        reason: "InvalidRequest",
        message: `${what} of ${s.name} is not one we can read (Docker v2 or OCI): ${ParseResult.TreeFormatter.formatErrorSync(error)}`
      })
    )
  )

const resolveImage = (s: Session): Effect.Effect<ResolvedImage, LocalEngineError> =>
  Effect.gen(function*() {
    const { name, reference, registry, repository } = s
    if (repository === "") {
      return yield* new LocalEngineError({ reason: "InvalidRequest", message: `'${registry}' names a registry but no image in it` })
    }
    const pinned = reference.startsWith("@") ? Option.some(reference.slice(1)) : Option.none<string>()
    const top = yield* manifest(s, Option.getOrElse(pinned, () => reference.slice(1)), pinned)
    let chosen = top
    if (isIndex(top.document)) {
      const index = yield* decode(s, ImageIndex, top.document, "the image index")
      const entry = yield* Either.mapLeft(selectPlatform(index), (why) => new LocalEngineError({ reason: "InvalidRequest", message: `${name}: ${why}` }))
      if (!DIGEST.test(entry.digest)) return yield* new LocalEngineError({ reason: "Unavailable", message: `the index of ${name} names a malformed digest` })
      chosen = yield* manifest(s, entry.digest, Option.some(entry.digest))
      if (isIndex(chosen.document)) return yield* new LocalEngineError({ reason: "InvalidRequest", message: `${name}: an index inside an index is not supported` })
    }
    const image = yield* decode(s, ImageManifest, chosen.document, "the manifest")
    return { manifestDigest: chosen.digest, config: image.config, layers: image.layers }
  }).pipe(Effect.withSpan("RegistrySource.resolve", { attributes: { image: s.name } }))

/**
 * A blob's bytes as they arrive. A download that breaks off is resumed where it stopped
 * (`Range`), under the retry policy, whose count starts over once bytes flow again; a registry
 * that ignores the range sends the whole blob, and what we already have is skipped.
 *
 * No per-chunk idle timeout: racing every read against a timer halved the throughput. A stalled
 * body is ended by fetch's own body timeout (then resumed), and the import by its timeout.
 */
const blobStream = (s: Session, descriptor: Descriptor): Stream.Stream<Uint8Array, LocalEngineError> => {
  const { base, name, registry, repository } = s
  if (!DIGEST.test(descriptor.digest)) {
    return Stream.fail(new LocalEngineError({ reason: "Unavailable", message: `the manifest of ${name} names a malformed digest` }))
  }
  const url = new URL(`${base}/v2/${repository}/blobs/${descriptor.digest}`)
  const what = `blob ${descriptor.digest} of ${name}`
  return Stream.suspend(() => {
    // A plain counter, not a Ref: an effect per chunk costs throughput for nothing here.
    let received = 0
    const fromReceived = Stream.unwrap(Effect.gen(function*() {
      const offset = received
      const response = yield* attempt(s, url, offset === 0 ? {} : { range: `bytes=${offset}-` }, what, Effect.succeed)
      const resumed = response.status === 206
      if (resumed && !(response.headers["content-range"] ?? "").startsWith(`bytes ${offset}-`)) {
        return yield* failed("Unavailable", `${what}: ${registry} resumed the download at the wrong place`)
      }
      let skip = resumed ? 0 : offset
      return response.stream.pipe(
        Stream.mapChunks(Chunk.filterMap((chunk) => {
          if (skip >= chunk.length) {
            skip -= chunk.length
            return Option.none()
          }
          const fresh = skip === 0 ? chunk : chunk.subarray(skip)
          skip = 0
          received += fresh.length
          return Option.some(fresh)
        })),
        Stream.mapError(() => failed("Unavailable", `${what}: the download broke off`, true))
      )
    }))
    return fromReceived.pipe(Stream.retry(retryWhile<Failed>(s.policy)), Stream.mapError((f) => f.error))
  })
}

export const registrySource = (options: RegistrySourceOptions): Effect.Effect<ImageSource, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const policy = yield* RetryPolicy
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.mapRequest(HttpClientRequest.setHeader("user-agent", registryUserAgent)))
    const { insecureRegistries } = options
    const { registry } = options.reference
    const repository = Option.getOrElse(options.reference.repository, () => "")
    const reference = Option.getOrElse(options.reference.reference, () => ":latest")
    const name = `${registry}/${repository}${reference}`
    const base = registryBaseUrl(registry, insecureRegistries)
    const authorization = yield* Ref.make(Option.none<Redacted.Redacted<string>>())

    const loginHint = Option.isSome(options.credentials)
      ? `the stored credentials for ${registry} were not accepted; run contree_registry_auth for ${registry} again with a token that may pull ${repository}`
      : `if ${repository} is private, run contree_registry_auth for ${registry} first`
    const session: Session = {
      http,
      policy,
      registry,
      repository,
      reference,
      name,
      base,
      insecureRegistries,
      credentials: options.credentials,
      authorization,
      loginHint
    }
    return { name, resolve: resolveImage(session), blob: (descriptor) => blobStream(session, descriptor) }
  })
