// A run with a synced project (a directory state of 5,000 files) on the local backend, beside the
// same run without it and `cp -a` of the same tree, all in this run.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { generateProject } from "./projectTree.js"
import { cpuSeconds, mb, median, medianOf, report, statusMb, timed } from "./stats.js"

const RUNS = 20

const verdict = (met: boolean) => (met ? "met" : "MISSED")

/** `cp -a` of the tree into a fresh directory, the page cache warm (median of 3). */
const copyTime = async (tree: string): Promise<number> => {
  const times: Array<number> = []
  for (let i = 0; i < 4; i++) {
    const target = mkdtempSync(join(tmpdir(), "contree-bench-cp-"))
    times.push(await timed(async () => {
      if (spawnSync("cp", ["-a", `${tree}/.`, target]).status !== 0) throw new Error("cp -a failed")
    }))
    rmSync(target, { recursive: true, force: true })
  }
  return median(times.slice(1))
}

export const directoryStateBench = async (bin: string, baseEnv: NodeJS.ProcessEnv): Promise<void> => {
  if (spawnSync("bwrap", ["--version"]).status !== 0) return
  const tree = mkdtempSync(join(tmpdir(), "contree-bench-project-"))
  const dataDir = mkdtempSync(join(tmpdir(), "contree-bench-state-"))
  const env = { ...baseEnv, CONTREE_MCP_TOKEN: "", CONTREE_MCP_CACHE_GENERAL: "", CONTREE_MCP_CACHE_FILES: "" }
  const client = new Client({ name: "bench-state", version: "1" })
  try {
    const project = generateProject(tree)
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, "--backend", "local", "--data-dir", dataDir],
      env: env as Record<string, string>
    })
    await client.connect(transport)
    const call = async (name: string, args: Record<string, unknown>): Promise<Record<string, any>> => {
      const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 })) as CallToolResult
      if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
      return result.structuredContent as Record<string, any>
    }
    const image = (await call("contree_get_image", { image: "tag:busybox:latest" })).uuid as string
    const rssBefore = statusMb(transport.pid!, "VmRSS")
    const state = (await call("contree_rsync", { source: tree, destination: "/app" })).directory_state_id as number
    const runOf = (extra: Record<string, unknown>, command = "true") => async () => {
      const out = await call("contree_run", { command, image, ...extra })
      if (out.exit_code !== 0) throw new Error(`contree_run ${command} failed: ${JSON.stringify(out)}`)
    }
    process.stdout.write(
      `directory state: ${project.files} files, ${(project.bytes / 1e6).toFixed(1)} MB synced to /app (local backend over stdio). ` +
        "Baselines: the same contree_run without the state; `cp -a` of the tree.\n"
    )
    const cp = await copyTime(tree)
    const first = await timed(runOf({ directory_state_id: state }, "test -f /app/pkg49/mod4/file4999.py"))
    report("run with the state: first (materialises it)", first, cp, "<= 2x cp -a")
    /** The median run, and the server's CPU milliseconds per run (user and system): on a busy machine, the steadier figure. */
    const measure = async (f: () => Promise<void>) => {
      const before = cpuSeconds(transport.pid!)
      const median = await medianOf(RUNS, f)
      const after = cpuSeconds(transport.pid!)
      return { median, cpu: ((after.user + after.sys - before.user - before.sys) * 1000) / (RUNS + 5) }
    }
    const bareRuns = await measure(runOf({}))
    const stateRuns = await measure(runOf({ directory_state_id: state }))
    const bare = bareRuns.median
    const withState = stateRuns.median
    report(`run with the state: later runs (median of ${RUNS})`, withState, bare, "<= 1.5x")
    report("  the server's CPU per run", stateRuns.cpu, bareRuns.cpu)
    // The agent's loop: a committed step, then the next run on the new image with the same state.
    const committed = (await call("contree_run", { command: "echo step > /root/step", image, disposable: false })).result_image as string
    const onNew = await timed(runOf({ image: committed, directory_state_id: state }, "test -f /root/step -a -f /app/pkg0/file0.py"))
    report("  the same state on a newly committed image", onNew, bare)
    // The other half of the loop: one file edited, the project synced again, the next run.
    writeFileSync(join(tree, "pkg0", "file0.py"), "# edited\n")
    await call("contree_rsync", { source: tree, destination: "/app" })
    const edited = await timed(runOf({ directory_state_id: state }, "grep -q edited /app/pkg0/file0.py"))
    report("  the first run after a one-file edit", edited, bare)
    report("server peak RSS (sync and runs) vs. before", statusMb(transport.pid!, "VmHWM"), rssBefore, "<= 2x", mb)
    process.stdout.write(
      `goals: first ${(first / cp).toFixed(2)}x cp -a (<= 2x): ${verdict(first <= 2 * cp)}; ` +
        `later ${(withState / bare).toFixed(2)}x a run without it (<= 1.5x): ${verdict(withState <= 1.5 * bare)}\n`
    )
  } finally {
    await client.close()
    rmSync(tree, { recursive: true, force: true })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

// `vite-node bench/directoryState.ts -- --bin DIST/bin.js`: this bench alone, against any build (an older one, to compare).
const at = process.argv.indexOf("--bin")
if (at !== -1) {
  const home = mkdtempSync(join(tmpdir(), "contree-bench-home-"))
  await directoryStateBench(process.argv[at + 1]!, { PATH: process.env["PATH"], HOME: home }).finally(() => rmSync(home, { recursive: true, force: true }))
}
