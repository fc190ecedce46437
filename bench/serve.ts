// `contree-mcp serve` figures: `contree_run true` by an MCP server on the cloud backend pointed at
// serve (HTTP + polling), beside the same call on the in-process local backend, in the same run.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { median, medianOf, report } from "./stats.js"

const RUNS = 50
const WARM_UP = 5

/** `contree-mcp serve` on `dataDir` and an ephemeral port: its URL once it listens, and how to stop it. */
const startServe = (bin: string, dataDir: string, env: NodeJS.ProcessEnv) =>
  new Promise<{ url: string; token: string; stop: () => Promise<void> }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--data-dir", dataDir, "--serve-port", "0"], { env, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const url = /ConTree API at (http:\/\/\S+) /.exec(stderr)?.[1]
      if (url !== undefined) {
        resolve({
          url,
          token: readFileSync(join(dataDir, "serve-token"), "utf8").trim(),
          stop: () =>
            new Promise((done) => {
              child.once("exit", () => done())
              child.kill("SIGTERM")
            })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`contree-mcp serve exited with ${code}: ${stderr}`)))
  })

export const serveBench = async (bin: string, baseEnv: NodeJS.ProcessEnv): Promise<void> => {
  if (spawnSync("bwrap", ["--version"]).status !== 0) {
    process.stdout.write("serve: skipped (bubblewrap is not installed)\n")
    return
  }
  const served = mkdtempSync(join(tmpdir(), "contree-bench-serve-"))
  const local = mkdtempSync(join(tmpdir(), "contree-bench-serve-local-"))
  const api = await startServe(bin, served, baseEnv)
  const connect = async (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) => {
    const client = new Client({ name: "bench-serve", version: "1" })
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, ...args], env: env as Record<string, string> }))
    return client
  }
  // Caches left to their defaults (empty means unset): the local backend keeps them in its data dir.
  const viaServe = await connect(["--backend", "cloud"], { ...baseEnv, CONTREE_MCP_URL: api.url, CONTREE_MCP_TOKEN: api.token })
  const inProcess = await connect(["--backend", "local", "--data-dir", local], {
    ...baseEnv,
    CONTREE_MCP_TOKEN: "",
    CONTREE_MCP_CACHE_GENERAL: "",
    CONTREE_MCP_CACHE_FILES: ""
  })
  try {
    const runTrue = (client: Client) => async () => {
      const result = (await client.callTool({ name: "contree_run", arguments: { command: "true", image: "tag:busybox:latest" } })) as CallToolResult
      const out = result.structuredContent as Record<string, unknown> | undefined
      if (result.isError || out?.["exit_code"] !== 0) throw new Error(`contree_run failed: ${JSON.stringify(result.content)}`)
    }
    process.stdout.write("serve: the MCP server on the cloud backend pointed at `contree-mcp serve` on loopback. Baseline: the local backend in process.\n")
    // Two alternating rounds, so that a slower stretch of the (shared) machine weighs on both alike.
    const rounds: Array<readonly [number, number]> = []
    for (let round = 0; round < 2; round++) rounds.push([await medianOf(RUNS, runTrue(inProcess), WARM_UP), await medianOf(RUNS, runTrue(viaServe), WARM_UP)])
    const baseline = median(rounds.map(([b]) => b))
    const remote = median(rounds.map(([, r]) => r))
    report(`contree_run true via serve (median of ${RUNS}, x2)`, remote, baseline)
  } finally {
    await viaServe.close()
    await inProcess.close()
    await api.stop()
    for (const dir of [served, local]) rmSync(dir, { recursive: true, force: true })
  }
}
