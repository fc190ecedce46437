/**
 * A fake OCI registry for tests: just the authentication part of the distribution API, served over
 * plain HTTP on 127.0.0.1 (a loopback registry, which the server may reach without TLS).
 *
 * Modes:
 * - `bearer`: `GET /v2/` answers 401 with `WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",service="fake-registry"`;
 *   `GET /token` answers 200 with a token for the right Basic credentials and 401 otherwise.
 * - `basic`: `GET /v2/` answers 401 with `WWW-Authenticate: Basic realm="fake-registry"`, and 200 with the right credentials.
 * - `anonymous`: `GET /v2/` and `GET /v2/_catalog` answer 200 to anyone.
 * - `catalog`: `GET /v2/` answers 200 to anyone, `GET /v2/_catalog` asks for Bearer auth as in `bearer`.
 * - `catalog-basic`: `GET /v2/` answers 200 to anyone, `GET /v2/_catalog` asks for Basic auth.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export type FakeRegistryMode = "bearer" | "basic" | "anonymous" | "catalog" | "catalog-basic"

export interface FakeOciRegistryOptions {
  readonly mode?: FakeRegistryMode
  /** username → token that the registry accepts. */
  readonly users?: Readonly<Record<string, string>>
  /** Replaces the Bearer realm (e.g. to point at a plain-HTTP host that is not loopback). */
  readonly realm?: string
}

export interface RegistryRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly authorization: string | undefined
}

export interface FakeOciRegistry {
  /** `127.0.0.1:PORT`: the registry as a `registry_url` names it. */
  readonly host: string
  readonly requests: Array<RegistryRequest>
  /** Answers the next `times` requests to `path` with `status` instead. */
  readonly failNext: (path: string, status: number, times?: number) => void
  readonly close: () => Promise<void>
}

const SERVICE = "fake-registry"

const basicCredentials = (header: string | undefined): { readonly username: string; readonly token: string } | undefined => {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "")
  if (match === null) return undefined
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), token: decoded.slice(colon + 1) }
}

export const startFakeOciRegistry = async (options: FakeOciRegistryOptions = {}): Promise<FakeOciRegistry> => {
  const mode = options.mode ?? "bearer"
  const users = options.users ?? {}
  const requests: Array<RegistryRequest> = []
  const faults: Array<{ path: string; status: number; remaining: number }> = []
  let realm = ""

  const accepted = (authorization: string | undefined) => {
    const credentials = basicCredentials(authorization)
    return credentials !== undefined && Object.hasOwn(users, credentials.username) && users[credentials.username] === credentials.token
  }

  const reply = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { "content-type": "application/json", ...headers })
    response.end(JSON.stringify(body))
  }
  const unauthorized = (response: ServerResponse, challenge: string) =>
    reply(response, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { "www-authenticate": challenge })
  const bearer = () => `Bearer realm="${realm}",service="${SERVICE}"`

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://fake")
    const authorization = request.headers.authorization
    requests.push({ method: request.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), authorization })
    const fault = faults.find((f) => f.path === url.pathname)
    if (fault !== undefined) {
      if (--fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1)
      return reply(response, fault.status, { errors: [{ code: "INJECTED" }] })
    }
    if (url.pathname === "/v2/" || url.pathname === "/v2") {
      switch (mode) {
        case "bearer":
          return unauthorized(response, bearer())
        case "basic":
          return accepted(authorization) ? reply(response, 200, {}) : unauthorized(response, `Basic realm="${SERVICE}"`)
        case "anonymous":
        case "catalog":
        case "catalog-basic":
          return reply(response, 200, {})
      }
    }
    if (url.pathname === "/v2/_catalog") {
      if (mode === "catalog") return unauthorized(response, bearer())
      if (mode === "catalog-basic" && !accepted(authorization)) return unauthorized(response, `Basic realm="${SERVICE}"`)
      return reply(response, 200, { repositories: [] })
    }
    if (url.pathname === "/token" && (mode === "bearer" || mode === "catalog")) {
      if (url.searchParams.get("service") !== SERVICE) return reply(response, 400, { errors: [{ code: "UNSUPPORTED", message: "unknown service" }] })
      return accepted(authorization)
        ? reply(response, 200, { token: "registry-bearer-token", access_token: "registry-bearer-token", expires_in: 300 })
        : reply(response, 401, { errors: [{ code: "UNAUTHORIZED", message: "incorrect username or password" }] })
    }
    return reply(response, 404, { errors: [{ code: "NOT_FOUND" }] })
  }

  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  realm = options.realm ?? `http://${host}/token`
  return {
    host,
    requests,
    failNext: (path, status, times = 1) => void faults.push({ path, status, remaining: times }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
