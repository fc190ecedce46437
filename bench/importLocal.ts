// Rootfs tarball import on the local backend: the Debian bookworm rootfs (mmdebstrap, about
// 210 MB, test/support/debianImage.ts) imported with contree_import_image `tarball:` by a server
// driven over stdio, each figure beside a baseline from the same run:
// - the import (a fresh server and data dir each round) beside `tar -xf` of the tarball into a
//   fresh directory;
// - the server's peak RSS during the import (VmHWM) beside its RSS just before it;
// - the first contree_run on the newly imported image beside a later one.
// `CONTREE_BENCH_ROUNDS` sets the rounds; `CONTREE_BENCH_NODE_ARGS` passes flags (--cpu-prof ...) to the server's node.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { debianImage } from "../test/support/debianImage.js"
import { cpuSeconds, mb, median, ms, report, statusMb, timed } from "./stats.js"

const ROUNDS = Number(process.env["CONTREE_BENCH_ROUNDS"] || 3)

/** Writes back what earlier rounds left dirty (and deleted), so that it does not land on the next figure. */
const settle = () => spawnSync("sync")

interface Cpu {
  readonly user: number
  readonly sys: number
}

/** `tar -xf` into a fresh dir: its time, and its CPU seconds (the shell's `times` for its children). */
const untar = async (tarball: string): Promise<{ readonly ms: number; readonly cpu: Cpu }> => {
  const dir = mkdtempSync(join(tmpdir(), "contree-bench-untar-"))
  settle()
  try {
    let cpu: Cpu = { user: 0, sys: 0 }
    const ms = await timed(async () => {
      const result = spawnSync("sh", ["-c", 'tar -xf "$1" -C "$2" && times', "sh", tarball, dir], { encoding: "utf8" })
      if (result.status !== 0) throw new Error(`tar -xf failed: ${result.stderr}`)
      const [user, sys] = (result.stdout.trim().split("\n")[1] ?? "").split(" ").map((t) => {
        const [minutes, seconds] = t.replace(/s$/, "").split("m")
        return Number(minutes) * 60 + Number(seconds)
      })
      cpu = { user: user!, sys: sys! }
    })
    return { ms, cpu }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Round {
  readonly importMs: number
  /** The server's CPU seconds during the import. */
  readonly cpu: Cpu
  readonly rssBefore: number
  readonly peak: number
  readonly firstRun: number
  readonly laterRun: number
  /** The import's progress notifications, with when each came (ms from the call). */
  readonly progress: ReadonlyArray<Progress & { readonly at: number }>
}

const importRound = async (bin: string, env: NodeJS.ProcessEnv, tarball: string): Promise<Round> => {
  const dataDir = mkdtempSync(join(tmpdir(), "contree-bench-import-"))
  const nodeArgs = (process.env["CONTREE_BENCH_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "")
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...nodeArgs, bin, "--backend", "local", "--data-dir", dataDir],
    env: env as Record<string, string>
  })
  const client = new Client({ name: "bench-import", version: "1" })
  try {
    await client.connect(transport)
    const call = async (name: string, args: Record<string, unknown>, onprogress?: (progress: Progress) => void): Promise<Record<string, any>> => {
      const result = (await client.callTool({ name, arguments: args }, undefined, onprogress === undefined ? {} : { onprogress, timeout: 600_000 })) as CallToolResult
      if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
      return result.structuredContent as Record<string, any>
    }
    // Warms the server up (the local engine starts on the first call) before its RSS is read.
    await call("contree_list_images", {})
    const pid = transport.pid!
    const rssBefore = statusMb(pid, "VmRSS")
    const progress: Array<Progress & { at: number }> = []
    let image = ""
    settle()
    const cpuBefore = cpuSeconds(pid)
    const importMs = await timed(async () => {
      const started = performance.now()
      const op = await call("contree_import_image", { registry_url: `tarball:${tarball}` }, (p) => progress.push({ ...p, at: performance.now() - started }))
      if (op.status !== "SUCCESS") throw new Error(`import failed: ${JSON.stringify(op)}`)
      image = op.result_image as string
    })
    const peak = statusMb(pid, "VmHWM")
    const cpuAfter = cpuSeconds(pid)
    const cpu = { user: cpuAfter.user - cpuBefore.user, sys: cpuAfter.sys - cpuBefore.sys }
    const run = () =>
      timed(async () => {
        const out = await call("contree_run", { command: "true", image, disposable: true })
        if (out.status !== "SUCCESS" || out.exit_code !== 0) throw new Error(`contree_run failed: ${JSON.stringify(out)}`)
      })
    const firstRun = await run()
    await run()
    const laterRun = await run()
    return { importMs, cpu, rssBefore, peak, firstRun, laterRun, progress }
  } finally {
    await client.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

export const importLocalBench = async (bin: string, baseEnv: NodeJS.ProcessEnv): Promise<void> => {
  if (spawnSync("bwrap", ["--version"]).status !== 0) {
    process.stdout.write("tarball import: skipped (bubblewrap is not installed)\n")
    return
  }
  const { missing, tarball } = debianImage()
  if (tarball === undefined) {
    process.stdout.write(`tarball import: skipped (${missing})\n`)
    return
  }
  const env = { ...baseEnv, CONTREE_MCP_TOKEN: "", CONTREE_MCP_CACHE_GENERAL: "", CONTREE_MCP_CACHE_FILES: "" }
  const megabytes = statSync(tarball).size / 1e6
  process.stdout.write(
    `tarball import: the Debian bookworm rootfs (${megabytes.toFixed(0)} MB, mmdebstrap) into a fresh server and data dir each round. ` +
      "Baselines: tar -xf into a fresh dir; the server's RSS before the import; a later run on the image.\n"
  )
  await untar(tarball) // the page cache holds the tarball for both from here on
  const untars: Array<{ readonly ms: number; readonly cpu: Cpu }> = []
  const rounds: Array<Round> = []
  for (let round = 0; round < ROUNDS; round++) {
    untars.push(await untar(tarball))
    rounds.push(await importRound(bin, env, tarball))
  }
  const of = (f: (r: Round) => number) => median(rounds.map(f))
  const seconds = (n: number) => `${n.toFixed(2)} s`
  report(`contree_import_image tarball: (median of ${ROUNDS})`, of((r) => r.importMs), median(untars.map((u) => u.ms)), "<= 2x")
  // Creating inodes is most of both, and its cost varies with the machine's load: CPU seconds show what is the import's own.
  report("  server CPU, user", of((r) => r.cpu.user), median(untars.map((u) => u.cpu.user)), undefined, seconds)
  report("  server CPU, sys", of((r) => r.cpu.sys), median(untars.map((u) => u.cpu.sys)), undefined, seconds)
  report("  peak RSS during the import (VmHWM)", of((r) => r.peak), of((r) => r.rssBefore), "<= 2x", mb)
  report("  first contree_run true on the new image", of((r) => r.firstRun), of((r) => r.laterRun), "<= 2x")
  // Goal: about one every 250 ms while bytes move, each with bytes done of the total.
  const notes = rounds.map((r) => r.progress)
  const gaps = notes.flatMap((list) => list.slice(1).map((p, i) => p.at - list[i]!.at))
  const last = notes[notes.length - 1]!.at(-1)
  const withBytes = notes.flat().filter((p) => p.total !== undefined).length
  process.stdout.write(
    `  progress: ${notes.map((list) => list.length).join(", ")} notifications per import, median ${gaps.length === 0 ? "-" : ms(median(gaps))} apart ` +
      `(goal about 250 ms), ${withBytes} of ${notes.flat().length} with a total; the last: ${last === undefined ? "none" : `${last.progress} of ${last.total} (${last.message})`}\n`
  )
}
