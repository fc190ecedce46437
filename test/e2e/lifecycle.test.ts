// Process lifecycle: the stdio server ends with its client's stdin, cancelling what it still
// waits on; the HTTP server ends cleanly on SIGTERM. Exits are awaited, never timed.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { binPath, sandboxEnv, startHttpServer, waitFor } from "./harness.js"

let fake: FakeContreeApi

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
})

afterAll(async () => {
  await fake?.close()
})

interface Spawned {
  readonly child: ChildProcessWithoutNullStreams
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly stdout: () => string
  readonly stderr: () => string
  readonly cleanup: () => void
}

const spawnStdio = (): Spawned => {
  const { env, home } = sandboxEnv({ url: fake.url, token: fake.token })
  const child = spawn(process.execPath, [binPath], { env, stdio: ["pipe", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })))
  return { child, exited, stdout: () => stdout, stderr: () => stderr, cleanup: () => rmSync(home, { recursive: true, force: true }) }
}

/** Runs `body` against a fresh server; whatever happens, the server is killed and its home removed. */
const withStdio = async (body: (server: Spawned) => Promise<void>) => {
  const server = spawnStdio()
  try {
    await body(server)
  } finally {
    server.child.kill("SIGKILL")
    server.cleanup()
  }
}

const send = (child: ChildProcessWithoutNullStreams, message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`)

const initialize = (child: ChildProcessWithoutNullStreams) =>
  send(child, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
  })

describe("stdio", () => {
  it("exits with code 0 when stdin closes", async () =>
    withStdio(async (server) => {
      initialize(server.child)
      await waitFor("the initialize answer", () => (server.stdout().includes('"id":1') ? true : undefined))
      server.child.stdin.end()
      expect(await server.exited).toEqual({ code: 0, signal: null })
    }))

  it("exits with code 0 when stdin closes before any message", async () =>
    withStdio(async (server) => {
      server.child.stdin.end()
      expect(await server.exited).toEqual({ code: 0, signal: null })
    }))

  it("cancels a run it is still waiting on when stdin closes", async () =>
    withStdio(async (server) => {
      const command = "sleep 30; echo orphan"
      initialize(server.child)
      send(server.child, { jsonrpc: "2.0", method: "notifications/initialized" })
      send(server.child, {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "contree_run", arguments: { command, image: "tag:busybox:latest" } }
      })
      const op = await waitFor("the run to be EXECUTING on the fake", () =>
        [...fake.state.operations.values()].find((o) => "command" in o.metadata && o.metadata.command === command && o.status === "EXECUTING"))
      server.child.stdin.end()
      expect(await server.exited).toEqual({ code: 0, signal: null })
      expect(fake.requests.some((r) => r.method === "DELETE" && r.path === `/v1/operations/${op.uuid}`)).toBe(true)
      expect(op.status).toBe("CANCELLED")
    }))
})

describe("http", () => {
  it("exits with code 0 on SIGTERM", async () => {
    const server = await startHttpServer({ url: fake.url, token: fake.token })
    const exited = new Promise<number | null>((resolve) => server.process.once("exit", (code) => resolve(code)))
    expect((await fetch(`${server.baseUrl}/`)).status).toBe(200)
    await server.stop()
    expect(await exited).toBe(0)
  })
})
