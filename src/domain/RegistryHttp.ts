/**
 * What every conversation with a container registry shares: credential checks (RegistryAuthLive)
 * and pulls (the local backend's RegistrySource). Which scheme a registry is spoken to with, how
 * a token realm is vetted before credentials are sent to it, and how a failed request is
 * described without quoting anything a server said.
 */
import { Either, Redacted } from "effect"
import { serverName, version } from "../version.js"
import { allowsPlainHttp, type AuthChallenge, registryApiHost } from "./RegistryUrl.js"

export const registryUserAgent = `${serverName}/${version}`

/** `http://` for loopback registries and those listed as insecure, `https://` for every other. */
export const registryBaseUrl = (registry: string, insecureRegistries: ReadonlyArray<string>): string =>
  `${allowsPlainHttp(registry, insecureRegistries) ? "http" : "https"}://${registryApiHost(registry)}`

// RFC 7617 recommends UTF-8; the platform's basicAuth uses btoa, which throws on non-Latin-1 text.
export const basicAuthorization = (credentials: { readonly username: string; readonly token: Redacted.Redacted<string> }): Redacted.Redacted<string> =>
  Redacted.make(`Basic ${Buffer.from(`${credentials.username}:${Redacted.value(credentials.token)}`, "utf8").toString("base64")}`)

/** A system error code (ECONNREFUSED, ENOTFOUND, ...) from a failed request's causes; never its text, which could quote anything. */
export const transportErrorCode = (error: unknown): string => {
  for (let c: unknown = error, depth = 0; typeof c === "object" && c !== null && depth < 6; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code
  }
  return "connection failed"
}

/** Why a URL a registry pointed us at (a token realm, a redirect) may not be followed. */
export interface RefusedUrl {
  readonly reason: "Unsupported" | "Insecure"
  readonly message: string
}

/**
 * A URL named by `registry` that we are about to send a request to: it must be http(s), and plain
 * http only to loopback hosts or hosts the user listed as insecure, so that a registry cannot make
 * us send credentials (or fetch content) in clear text across the network.
 */
export const vetRegistryUrl = (
  registry: string,
  what: string,
  text: string,
  insecureRegistries: ReadonlyArray<string>
): Either.Either<URL, RefusedUrl> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Either.left({ reason: "Unsupported", message: `${registry} named ${what} that is not a URL` })
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Either.left({ reason: "Unsupported", message: `${registry} named ${what} at a ${url.protocol} URL` })
  }
  if (url.protocol === "http:" && !allowsPlainHttp(url.host, insecureRegistries)) {
    return Either.left({
      reason: "Insecure",
      message: `${registry} sent us to ${what} at ${url.host} over plain HTTP; refused. ` +
        `If that host is trusted, list it with --insecure-registries (or CONTREE_MCP_INSECURE_REGISTRIES)`
    })
  }
  return Either.right(url)
}

/**
 * The token service's URL for a Bearer challenge: the realm, vetted, with the challenge's
 * `service` and, for a pull, the `scope` asked for (`repository:NAME:pull`).
 */
export const tokenRealmUrl = (
  registry: string,
  challenge: Extract<AuthChallenge, { scheme: "Bearer" }>,
  insecureRegistries: ReadonlyArray<string>,
  scope?: string
): Either.Either<URL, RefusedUrl> =>
  Either.map(vetRegistryUrl(registry, "a token service", challenge.realm, insecureRegistries), (url) => {
    if (challenge.service !== "") url.searchParams.set("service", challenge.service)
    if (scope !== undefined) url.searchParams.set("scope", scope)
    return url
  })
