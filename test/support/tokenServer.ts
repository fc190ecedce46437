/**
 * A registry token service for tests (the OCI distribution token flow), in front of a
 * `docker-registry` started with `auth: token`: `GET /token?service=S&scope=repository:NAME:pull`
 * with the right Basic credentials answers a JWT granting the asked-for actions; wrong credentials
 * get 401; an anonymous request gets a token that grants nothing.
 *
 * The signing key and its self-signed certificate (the registry's `rootcertbundle`) are made
 * with the `openssl` CLI when the service starts, in a temp directory removed by `close`.
 */
import { execFileSync } from "node:child_process"
import { createSign, randomUUID, X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { RegistryTokenAuth } from "./dockerRegistry.js"

export interface TokenServerOptions {
  /** username → password (a personal access token) the service accepts. */
  readonly users: Readonly<Record<string, string>>
  readonly service?: string
}

export interface TokenRequest {
  readonly username: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly status: number
}

export interface TokenServer {
  /** What the registry's `auth: token` section needs. */
  readonly auth: RegistryTokenAuth
  readonly requests: Array<TokenRequest>
  /** Every token issued, so tests can check none leaks. */
  readonly issued: Array<string>
  readonly close: () => Promise<void>
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString("base64url")

const basicCredentials = (header: string | undefined) => {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "")
  if (match === null) return undefined
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** `repository:library/alpine:pull,push` → the access claim entry. */
const accessOf = (scope: string) => {
  const parts = scope.split(":")
  if (parts.length < 3) return []
  return [{ type: parts[0]!, name: parts.slice(1, -1).join(":"), actions: parts.at(-1)!.split(",").filter((a) => a !== "") }]
}

export const startTokenServer = async (options: TokenServerOptions): Promise<TokenServer> => {
  const dir = mkdtempSync(join(tmpdir(), "contree-token-server-"))
  const keyPath = join(dir, "key.pem")
  const certPath = join(dir, "cert.pem")
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=contree-test-token-issuer"
  ], { stdio: "ignore" })
  const key = readFileSync(keyPath, "utf8")
  const x5c = [new X509Certificate(readFileSync(certPath)).raw.toString("base64")]
  const service = options.service ?? "contree-test-registry"
  const issuer = "contree-test-issuer"
  const requests: Array<TokenRequest> = []
  const issued: Array<string> = []

  const sign = (subject: string, access: ReadonlyArray<unknown>) => {
    const now = Math.floor(Date.now() / 1000)
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c }))
    const claims = base64url(JSON.stringify({ iss: issuer, sub: subject, aud: service, iat: now, nbf: now - 10, exp: now + 600, jti: randomUUID(), access }))
    const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key)
    return `${header}.${claims}.${base64url(signature)}`
  }

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://token")
    const scopes = url.searchParams.getAll("scope")
    const credentials = basicCredentials(request.headers.authorization)
    const reply = (status: number, body: unknown) => {
      requests.push({ username: credentials?.username, scopes, status })
      response.writeHead(status, { "content-type": "application/json" })
      response.end(JSON.stringify(body))
    }
    if (url.pathname !== "/token") return reply(404, { errors: [{ code: "NOT_FOUND" }] })
    if (url.searchParams.get("service") !== service) return reply(400, { errors: [{ code: "UNKNOWN_SERVICE" }] })
    if (request.headers.authorization !== undefined) {
      if (credentials === undefined || !Object.hasOwn(options.users, credentials.username) || options.users[credentials.username] !== credentials.password) {
        return reply(401, { errors: [{ code: "UNAUTHORIZED" }] })
      }
    }
    // Anonymous callers get a valid token that grants nothing: the registry then refuses them.
    const token = sign(credentials?.username ?? "", credentials === undefined ? [] : scopes.flatMap(accessOf))
    issued.push(token)
    reply(200, { token, access_token: token, expires_in: 600 })
  }

  const server = createServer(handle)
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const port = (server.address() as AddressInfo).port
  return {
    auth: { realm: `http://127.0.0.1:${port}/token`, service, issuer, rootCertBundle: certPath },
    requests,
    issued,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
