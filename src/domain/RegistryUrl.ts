/**
 * Container-registry references, parsed without any I/O: which registry a `registry_url` names,
 * where that registry's API lives, and where its users create personal access tokens.
 *
 * The reference server takes any string without `://` to mean Docker Hub, so `ghcr.io/org/img`
 * was looked up as docker.io. We follow Docker's own rule instead (distribution/reference
 * `splitDockerDomain`): the first path component is a registry host when it contains a `.` or a
 * `:`, or is `localhost`; otherwise the reference is a Docker Hub repository. The same rule is
 * applied after a `docker://` or `oci://` scheme, so `docker://python:3.11-slim` (which the
 * reference documents) is Docker Hub's `library/python`, not a host called `python`.
 */
import { Either, Option } from "effect"

/** Docker Hub, as credentials are keyed and as users write it. */
export const DOCKER_HUB = "docker.io"

/** Names Docker itself treats as Docker Hub. */
const dockerHubAliases = new Set([DOCKER_HUB, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])

/** A parsed `registry_url`. */
export interface RegistryReference {
  /** `host` or `host:port`, lower-cased; `docker.io` for Docker Hub. Credentials are keyed by it. */
  readonly registry: string
  /** The repository path (`library/alpine`), absent when the URL names only a registry. */
  readonly repository: Option.Option<string>
  /** `:tag` or `@sha256:...`, absent when none was given. */
  readonly reference: Option.Option<string>
}

// Docker's grammar (distribution/reference): lower-case components separated by `/`, each made of
// alphanumerics joined by `.`, `_`, `__` or runs of `-`.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/
// A registry host on its own: a dotted name, `localhost` or a bracketed IPv6 address, with an optional port.
const HOST_ONLY = /^(?:localhost|\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)(?::\d{1,5})?$/i

const looksLikeHost = (component: string) => component.includes(".") || component.includes(":") || component === "localhost"

const normalizeRegistry = (host: string): string => {
  const lower = host.toLowerCase()
  return dockerHubAliases.has(lower) ? DOCKER_HUB : lower
}

/** Splits `repo/path:tag` or `repo/path@digest` into the path and its reference. */
const splitReference = (path: string): Either.Either<{ readonly repository: string; readonly reference: Option.Option<string> }, string> => {
  const at = path.indexOf("@")
  let repository = path
  let reference = Option.none<string>()
  if (at !== -1) {
    const digest = path.slice(at + 1)
    if (!DIGEST.test(digest)) return Either.left(`'${digest}' is not a valid digest (expected algorithm:hex)`)
    repository = path.slice(0, at)
    reference = Option.some(`@${digest}`)
  }
  const lastSlash = repository.lastIndexOf("/")
  const colon = repository.indexOf(":", lastSlash + 1)
  if (colon !== -1) {
    const tag = repository.slice(colon + 1)
    if (!TAG.test(tag)) return Either.left(`'${tag}' is not a valid tag`)
    // `name:tag@digest` keeps the digest, which is what pins the image.
    if (Option.isNone(reference)) reference = Option.some(`:${tag}`)
    repository = repository.slice(0, colon)
  }
  const bad = repository.split("/").find((component) => !COMPONENT.test(component))
  if (bad !== undefined) {
    return Either.left(
      bad === ""
        ? "the repository path has an empty component"
        : `'${bad}' is not a valid repository name component (lower-case letters, digits and . _ - only)`
    )
  }
  return Either.right({ repository, reference })
}

/**
 * Parses `docker://host/repo:tag`, `oci://host/repo:tag`, a bare `repo[:tag]` (Docker Hub), a
 * schemeless `host/repo:tag`, or just a registry (`ghcr.io`, `docker://ghcr.io`). Fails with a
 * message fit for the agent.
 */
export const parseRegistryUrl = (input: string): Either.Either<RegistryReference, string> => {
  const text = input.trim()
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)
  if (scheme !== null && !["docker", "oci"].includes(scheme[1]!.toLowerCase())) {
    return Either.left(`unsupported scheme '${scheme[1]}://' in '${text}': use docker://, oci:// or a bare image reference such as 'alpine:3.20'`)
  }
  const rest = (scheme === null ? text : text.slice(scheme[0].length)).replace(/\/+$/, "")
  if (rest === "") return Either.left(`'${text}' names no registry or image`)
  if (/\s/.test(rest)) return Either.left(`'${text}' contains whitespace`)

  const slash = rest.indexOf("/")
  if (slash === -1 && HOST_ONLY.test(rest)) {
    return Either.right({ registry: normalizeRegistry(rest), repository: Option.none(), reference: Option.none() })
  }
  const first = slash === -1 ? "" : rest.slice(0, slash)
  const explicitHost = slash !== -1 && looksLikeHost(first)
  const registry = explicitHost ? normalizeRegistry(first) : DOCKER_HUB
  const path = explicitHost ? rest.slice(slash + 1) : rest
  return splitReference(path).pipe(
    Either.map(({ reference, repository }) => ({
      registry,
      // Docker Hub's official images live under `library/`.
      repository: Option.some(registry === DOCKER_HUB && !repository.includes("/") ? `library/${repository}` : repository),
      reference
    }))
  )
}

/**
 * The URL sent to ConTree: `docker://host/repository:tag`, the canonical form the vendor CLI
 * sends (`:latest` when no tag or digest is given). `oci://` becomes `docker://` too: both mean
 * "pull from a registry", and `docker://` is the form the API documents.
 */
export const canonicalImportUrl = (ref: RegistryReference): Option.Option<string> =>
  Option.map(ref.repository, (repository) => `docker://${ref.registry}/${repository}${Option.getOrElse(ref.reference, () => ":latest")}`)

/** Where a registry's HTTP API lives: Docker Hub's is `registry-1.docker.io`; every other registry serves its own. */
export const registryApiHost = (registry: string): string => registry === DOCKER_HUB ? "registry-1.docker.io" : registry

/** Pages where a user creates a read-only personal access token, for the registries we know. */
export const patPages: Readonly<Record<string, string>> = {
  "docker.io": "https://app.docker.com/settings/personal-access-tokens",
  "ghcr.io": "https://github.com/settings/tokens?type=beta",
  "registry.gitlab.com": "https://gitlab.com/-/user_settings/personal_access_tokens",
  "gcr.io": "https://console.cloud.google.com/apis/credentials",
  "us.gcr.io": "https://console.cloud.google.com/apis/credentials",
  "eu.gcr.io": "https://console.cloud.google.com/apis/credentials",
  "asia.gcr.io": "https://console.cloud.google.com/apis/credentials"
}

export const patPageOf = (registry: string): Option.Option<string> =>
  Object.hasOwn(patPages, registry) ? Option.some(patPages[registry]!) : Option.none()

export const isKnownRegistry = (registry: string): boolean => Object.hasOwn(patPages, registry)

/** The host of `host`, `host:port` or `[v6]:port`, without the port and brackets, lower-cased. */
export const hostWithoutPort = (authority: string): string => {
  const lower = authority.toLowerCase()
  if (lower.startsWith("[")) return lower.slice(1, Math.max(1, lower.indexOf("]")))
  const colon = lower.lastIndexOf(":")
  return colon === -1 ? lower : lower.slice(0, colon)
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1: the only hosts spoken to over plain HTTP without being listed. */
export const isLoopbackHost = (authority: string): boolean => {
  const host = hostWithoutPort(authority)
  return host === "localhost" || host.endsWith(".localhost") || /^127(?:\.\d{1,3}){3}$/.test(host) || host === "::1" ||
    host === "0:0:0:0:0:0:0:1"
}

/**
 * Whether a registry (or token realm) may be spoken to over plain HTTP: loopback hosts always,
 * others only when the user listed them. A listed `host` allows every port; `host:port` only that port.
 */
export const allowsPlainHttp = (authority: string, insecure: ReadonlyArray<string>): boolean => {
  if (isLoopbackHost(authority)) return true
  const lower = authority.toLowerCase()
  return insecure.some((entry) => {
    const wanted = entry.trim().toLowerCase()
    return wanted !== "" && (wanted === lower || wanted === hostWithoutPort(lower))
  })
}

/** A challenge from a `WWW-Authenticate` header that we know how to answer. */
export type AuthChallenge =
  | { readonly scheme: "Bearer"; readonly realm: string; readonly service: string }
  | { readonly scheme: "Basic"; readonly realm: string }

/** `key="value"` or `key=token` pairs after the scheme; quoted values may contain `,` and `\"`. */
const parseParams = (text: string): Record<string, string> => {
  const params: Record<string, string> = {}
  const pair = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y
  let match: RegExpExecArray | null
  while (pair.lastIndex < text.length && (match = pair.exec(text)) !== null) {
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : (match[3] ?? "")
  }
  return params
}

/**
 * Parses the registry's `WWW-Authenticate` answer to an anonymous `GET /v2/`. Bearer needs a
 * realm (the token service); its `service` defaults to "". Basic is answered with credentials on
 * `/v2/` itself. Anything else (an empty header, an unknown scheme, a Bearer without realm) is none.
 */
export const parseWwwAuthenticate = (header: string | undefined): Option.Option<AuthChallenge> => {
  const text = (header ?? "").trim()
  const scheme = /^([A-Za-z]+)(?:\s+|$)/.exec(text)
  if (scheme === null) return Option.none()
  const params = parseParams(text.slice(scheme[0].length))
  switch (scheme[1]!.toLowerCase()) {
    case "bearer":
      return params["realm"] ? Option.some({ scheme: "Bearer", realm: params["realm"], service: params["service"] ?? "" }) : Option.none()
    case "basic":
      return Option.some({ scheme: "Basic", realm: params["realm"] ?? "" })
    default:
      return Option.none()
  }
}

/**
 * Import sources the local backend reads from this machine instead of a registry (skopeo's
 * transport names, plus `tarball:` for a root filesystem tar). `PATH` is absolute: the server's
 * working directory is not the user's.
 */
export const LOCAL_IMPORT_SCHEMES = ["oci-archive", "oci", "docker-archive", "tarball"] as const
export type LocalImportScheme = typeof LOCAL_IMPORT_SCHEMES[number]

export interface LocalImportUrl {
  readonly scheme: LocalImportScheme
  /** `PATH` or `PATH:REF`; which one is settled against the filesystem by the engine. */
  readonly location: string
}

const LOCAL_URL = new RegExp(`^(${LOCAL_IMPORT_SCHEMES.join("|")}):(?!//)(.*)$`)

/** None for registry references; otherwise the local source, or why it is malformed. */
export const parseLocalImportUrl = (input: string): Option.Option<Either.Either<LocalImportUrl, string>> => {
  const match = LOCAL_URL.exec(input.trim())
  if (match === null) return Option.none()
  const scheme = match[1] as LocalImportScheme
  const location = match[2]!
  if (!location.startsWith("/")) {
    return Option.some(Either.left(`'${scheme}:' needs an absolute path on the server's machine, as in '${scheme}:/path/to/image'`))
  }
  return Option.some(Either.right({ scheme, location }))
}
