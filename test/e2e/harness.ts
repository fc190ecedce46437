import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

/** The built server; CONTREE_E2E_BIN points the suite at another build (e.g. a deliberately broken one). */
/** Every tool the server registers, in the order it lists them. */
export const toolNames = [
  "contree_run",
  "contree_list_images",
  "contree_get_image",
  "contree_set_tag",
  "contree_list_files",
  "contree_read_file",
  "contree_grep",
  "contree_upload",
  "contree_rsync",
  "contree_download",
  "contree_get_operation",
  "contree_list_operations",
  "contree_wait_operations",
  "contree_cancel_operation",
  "contree_whoami",
  "contree_get_guide",
  "contree_import_image",
  "contree_registry_token_obtain",
  "contree_registry_auth"
]

export const binPath = process.env["CONTREE_E2E_BIN"] ?? resolve(import.meta.dirname, "../../dist/bin.js")

export interface ServerEnv {
  /** The ConTree API; none for the local backend. */
  readonly url?: string
  readonly token?: string
  readonly extraEnv?: Record<string, string>
  readonly args?: ReadonlyArray<string>
}

/** An isolated HOME and cache for one server process, so tests never touch the user's files. */
export const sandboxEnv = (server: ServerEnv) => {
  const home = mkdtempSync(join(tmpdir(), "contree-e2e-"))
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    ...(server.url === undefined ? {} : { CONTREE_MCP_URL: server.url }),
    CONTREE_MCP_CONFIG: join(home, "missing.ini"),
    CONTREE_MCP_CACHE_GENERAL: join(home, "cache.db"),
    CONTREE_MCP_CACHE_FILES: join(home, "files.db"),
    CONTREE_MCP_LOG_LEVEL: "debug",
    ...(server.token === undefined ? {} : { CONTREE_MCP_TOKEN: server.token }),
    ...server.extraEnv
  }
  return { home, env }
}

export interface Connected {
  readonly client: Client
  /** The server process id (for /proc/<pid>/cmdline). */
  readonly pid: number
  readonly stderr: () => string
  readonly home: string
  readonly close: () => Promise<void>
}

export const connectStdio = async (server: ServerEnv): Promise<Connected> => {
  const { env, home } = sandboxEnv(server)
  const transport = new StdioClientTransport({ command: process.execPath, args: [binPath, ...(server.args ?? [])], env, stderr: "pipe" })
  let stderr = ""
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const client = new Client({ name: "contree-e2e", version: "1.0.0" })
  await client.connect(transport)
  const pid = transport.pid
  if (pid === null) throw new Error("the server process did not start")
  return {
    client,
    pid,
    stderr: () => stderr,
    home,
    close: async () => {
      await client.close()
      rmSync(home, { recursive: true, force: true })
    }
  }
}

/**
 * A server on the local backend (real sandboxes on this machine) over `dataDir`, with no token.
 * The data directory is the caller's, so a restarted server can be pointed at the same one.
 */
export const connectLocal = (options: { readonly dataDir: string; readonly extraEnv?: Record<string, string> }): Promise<Connected> =>
  connectStdio({ args: ["--backend", "local", "--data-dir", options.dataDir], ...(options.extraEnv === undefined ? {} : { extraEnv: options.extraEnv }) })

/** Starts the server in HTTP mode on an ephemeral port and waits for the address it prints. */
export const startHttpServer = async (server: ServerEnv): Promise<{ readonly baseUrl: string; readonly process: ChildProcess; readonly stderr: () => string; readonly stop: () => Promise<void> }> => {
  const { env, home } = sandboxEnv(server)
  const child = spawn(process.execPath, [binPath, "--mode", "http", "--http-port", "0", ...(server.args ?? [])], { env, stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  const baseUrl = await new Promise<string>((resolveUrl, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /MCP at (http:\/\/\S+)\/mcp,/.exec(stderr)
      if (match?.[1] !== undefined) resolveUrl(match[1])
    })
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)))
  })
  return {
    baseUrl,
    process: child,
    stderr: () => stderr,
    stop: async () => {
      child.kill("SIGTERM")
      await new Promise((done) => child.once("exit", done))
      rmSync(home, { recursive: true, force: true })
    }
  }
}

export const connectHttp = async (baseUrl: string): Promise<Client> => {
  const client = new Client({ name: "contree-e2e-http", version: "1.0.0" })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`)))
  return client
}

/** Calls a tool; with `seen`, also keeps the result as JSON there (the secret-leak checks read it). */
export const callTool = async (client: Client, name: string, args: Record<string, unknown> = {}, seen?: Array<string>): Promise<CallToolResult> => {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult
  seen?.push(JSON.stringify(result))
  return result
}

/** The structured result of a successful call; fails the test with the error text otherwise. */
export const callOk = async (client: Client, name: string, args: Record<string, unknown> = {}, seen?: Array<string>): Promise<Record<string, any>> => {
  const result = await callTool(client, name, args, seen)
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
  return result.structuredContent as Record<string, any>
}

/** The error text of a call expected to fail. */
export const callError = async (client: Client, name: string, args: Record<string, unknown> = {}, seen?: Array<string>): Promise<string> => {
  const result = await callTool(client, name, args, seen)
  if (!result.isError) throw new Error(`${name} unexpectedly succeeded: ${JSON.stringify(result.structuredContent)}`)
  return resultText(result)
}

/** The whole text of a tool result, error or not. */
export const resultText = (result: CallToolResult): string =>
  result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n")

/**
 * Polls `probe` until it returns a value other than undefined. Not a timing assertion: the
 * bound only turns a hang into a readable failure well before the test timeout.
 */
export const waitFor = async <A>(what: string, probe: () => A | undefined | Promise<A | undefined>, boundMs = 15_000): Promise<A> => {
  const deadline = Date.now() + boundMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

export interface ServeApi {
  /** The API's base URL, without `/v1`: what `--url` takes. */
  readonly url: string
  readonly port: number
  readonly token: string
  readonly pid: number
  readonly stderr: () => string
  readonly stop: () => Promise<void>
}

/**
 * `contree-mcp serve` on `dataDir` and an ephemeral port; waits for the address it prints and
 * reads the token it generated from the data dir (or uses `token`, given in the environment).
 */
export const startServeApi = async (options: { readonly dataDir: string; readonly token?: string; readonly args?: ReadonlyArray<string> }): Promise<ServeApi> => {
  const { env, home } = sandboxEnv({ extraEnv: options.token === undefined ? {} : { CONTREE_MCP_SERVE_TOKEN: options.token } })
  const child = spawn(process.execPath, [binPath, "serve", "--data-dir", options.dataDir, "--serve-port", "0", ...(options.args ?? [])], {
    env,
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /ConTree API at (http:\/\/\S+) /.exec(stderr)
      if (match?.[1] !== undefined) resolveUrl(match[1])
    })
    child.once("exit", (code) => reject(new Error(`contree-mcp serve exited with ${code}: ${stderr}`)))
  })
  const exited = new Promise((done) => child.once("exit", done))
  return {
    url,
    port: Number(new URL(url).port),
    token: options.token ?? readFileSync(join(options.dataDir, "serve-token"), "utf8").trim(),
    pid: child.pid!,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM")
      await exited
      rmSync(home, { recursive: true, force: true })
    }
  }
}

/** An MCP server on the cloud backend pointed at a `contree-mcp serve`. */
export const connectToServe = (api: ServeApi, extraEnv: Record<string, string> = {}): Promise<Connected> =>
  connectStdio({ url: api.url, token: api.token, args: ["--backend", "cloud"], extraEnv })

/** One way for an MCP server to reach the local engine over a data dir; `stop` ends whatever `connect` started. */
export interface EngineBackend {
  readonly name: string
  /** The engine runs inside the MCP server, which then learns of progress and completions without polling. */
  readonly inProcess: boolean
  readonly connect: (dataDir: string) => Promise<{ readonly server: Connected; readonly stop: () => Promise<void> }>
}

/** The local engine in process (`--backend local`), and behind `contree-mcp serve` (`--backend cloud --url`): suites run on both. */
export const engineBackends: ReadonlyArray<EngineBackend> = [
  {
    name: "local backend over stdio",
    inProcess: true,
    connect: async (dataDir) => {
      const server = await connectLocal({ dataDir })
      return { server, stop: () => server.close() }
    }
  },
  {
    name: "cloud backend through contree-mcp serve",
    inProcess: false,
    connect: async (dataDir) => {
      const api = await startServeApi({ dataDir })
      const server = await connectToServe(api)
      return {
        server,
        stop: async () => {
          await server.close()
          await api.stop()
        }
      }
    }
  }
]
