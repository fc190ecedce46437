/**
 * A real OCI distribution registry for tests: Debian's `docker-registry` (distribution 2.8),
 * started on 127.0.0.1 at a free port with its own temp storage and a config written here, so no
 * distro-started service is involved. Stopped (and its storage removed) by `close`.
 *
 * Options:
 * - `token`: the registry asks for Bearer tokens from that realm and trusts JWTs signed by the
 *   key behind `rootCertBundle` (see tokenServer.ts).
 * - `redirectTo`: blob GETs answer 307 to `<redirectTo>/docker/registry/v2/blobs/...` (the
 *   storage layout under `storageDir`), as registries backed by object storage do.
 *
 * The access log is kept, so a test can count what was fetched (`requests()`).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const DOCKER_REGISTRY = "/usr/bin/docker-registry"

export interface RegistryTokenAuth {
  readonly realm: string
  readonly service: string
  readonly issuer: string
  readonly rootCertBundle: string
}

export interface DockerRegistryOptions {
  readonly token?: RegistryTokenAuth
  readonly redirectTo?: string
}

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly status: number
  /** Body bytes sent in the answer. */
  readonly bytes: number
}

export interface DockerRegistry {
  /** `127.0.0.1:PORT`, as a `registry_url` names it. */
  readonly host: string
  /** The filesystem driver's root directory. */
  readonly storageDir: string
  /** Every request the registry logged so far, oldest first. */
  readonly requests: () => Array<LoggedRequest>
  readonly close: () => Promise<void>
}

/** A port nobody listens on right now (the registry binds it a moment later). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const configYaml = (port: number, storageDir: string, options: DockerRegistryOptions): string => {
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: false",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: test-only-upload-state-secret"
  ]
  if (options.token !== undefined) {
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${JSON.stringify(options.token.realm)}`,
      `    service: ${JSON.stringify(options.token.service)}`,
      `    issuer: ${JSON.stringify(options.token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(options.token.rootCertBundle)}`
    )
  }
  if (options.redirectTo !== undefined) {
    lines.push(
      "middleware:",
      "  storage:",
      "    - name: redirect",
      "      options:",
      `        baseurl: ${JSON.stringify(options.redirectTo)}`
    )
  }
  return `${lines.join("\n")}\n`
}

// Combined log format: `127.0.0.1 - - [date] "GET /v2/... HTTP/1.1" 200 1234 ...`.
const ACCESS = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) (\d+|-)/

const waitUntilServing = async (host: string, child: ChildProcess, output: () => string): Promise<void> => {
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`)
    try {
      await fetch(`http://${host}/v2/`)
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`docker-registry did not start on ${host}: ${output()}`)
      await new Promise((done) => setTimeout(done, 50))
    }
  }
}

export const startDockerRegistry = async (options: DockerRegistryOptions = {}): Promise<DockerRegistry> => {
  const dir = mkdtempSync(join(tmpdir(), "contree-docker-registry-"))
  const storageDir = join(dir, "storage")
  const configPath = join(dir, "config.yml")
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  writeFileSync(configPath, configYaml(port, storageDir, options))
  const child = spawn(DOCKER_REGISTRY, ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } })
  let output = ""
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8")
  }
  child.stdout!.on("data", collect)
  child.stderr!.on("data", collect)
  const exited = new Promise<void>((done) => child.once("exit", () => done()))
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitUntilServing(host, child, () => output)
  } catch (error) {
    await close()
    throw error
  }
  return {
    host,
    storageDir,
    requests: () =>
      output.split("\n").flatMap((line) => {
        const match = ACCESS.exec(line)
        return match === null ? [] : [{ method: match[1]!, path: match[2]!, status: Number(match[3]), bytes: match[4] === "-" ? 0 : Number(match[4]) }]
      }),
    close
  }
}

/** Blob downloads in a registry's log: GETs of `/v2/NAME/blobs/DIGEST`. */
export const blobGets = (registry: DockerRegistry): Array<LoggedRequest> =>
  registry.requests().filter((r) => r.method === "GET" && /^\/v2\/.+\/blobs\/[a-z0-9]+:/.test(r.path))
