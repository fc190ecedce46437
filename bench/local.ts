// Local backend figures: real bubblewrap sandboxes driven over stdio by the SDK client, each
// beside a baseline measured in the same run (a raw bwrap spawn, the bare SDK no-op round trip),
// and the seccomp filter's own cost: a raw bwrap spawn with the sandboxes' filter against one without.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawn, spawnSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { seccompProgram } from "../src/local/sandbox/Seccomp.js"
import { median, medianOf, ms, report, timed } from "./stats.js"

const RUNS = 50
const READS = 200
const CONCURRENT = 20
const ROUNDS = 5
/** Images committed to time a first run on, and the runs on each after it (the last one is "a later run"). */
const FRESH = 15
const LATER = 3
const WARM_UP = 5
const PAUSE_MS = 100

const RAW = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]

/** One raw sandbox: bwrap spawned and reaped, nothing else; with `seccomp` (a file of the program), under the sandboxes' filter. */
const rawSpawn = (seccomp?: string): Promise<void> =>
  new Promise((resolve, reject) => {
    // A descriptor of its own each time: bwrap reads the program to its end.
    const fd = seccomp === undefined ? undefined : openSync(seccomp, "r")
    const child = spawn("bwrap", fd === undefined ? RAW : ["--seccomp", "3", ...RAW], {
      stdio: fd === undefined ? "ignore" : ["ignore", "ignore", "ignore", fd]
    })
    if (fd !== undefined) closeSync(fd)
    child.once("error", reject)
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bwrap exited with ${code}`))))
  })

/** Median over `ROUNDS` rounds of `CONCURRENT` calls of `f` at once, as calls per second. */
const throughput = async (f: () => Promise<unknown>): Promise<number> => {
  await Promise.all(Array.from({ length: CONCURRENT }, f))
  const rates: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    const elapsed = await timed(() => Promise.all(Array.from({ length: CONCURRENT }, f)))
    rates.push(CONCURRENT / (elapsed / 1000))
  }
  return median(rates)
}

const perSecond = (n: number) => `${n.toFixed(1)} runs/s`

const verdict = (met: boolean) => (met ? "met" : "MISSED")
const signed = (n: number) => `${n >= 0 ? "+" : ""}${ms(n)}`

export const localBench = async (bin: string, baselineServer: string, baseEnv: NodeJS.ProcessEnv): Promise<void> => {
  if (spawnSync("bwrap", ["--version"]).status !== 0) {
    process.stdout.write("local backend: skipped (bubblewrap is not installed: apt-get install bubblewrap busybox-static attr)\n")
    return
  }
  const dataDir = mkdtempSync(join(tmpdir(), "contree-bench-local-"))
  // No token, and the caches left to their default (the data dir): empty means unset.
  const env = { ...baseEnv, CONTREE_MCP_TOKEN: "", CONTREE_MCP_CACHE_GENERAL: "", CONTREE_MCP_CACHE_FILES: "" }
  const connect = async (args: ReadonlyArray<string>) => {
    const client = new Client({ name: "bench-local", version: "1" })
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [...args], env: env as Record<string, string> }))
    return client
  }
  const ours = await connect([bin, "--backend", "local", "--data-dir", dataDir])
  const base = await connect([baselineServer])
  try {
    const call = async (name: string, args: Record<string, unknown>): Promise<Record<string, any>> => {
      const result = (await ours.callTool({ name, arguments: args })) as CallToolResult
      if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
      return result.structuredContent as Record<string, any>
    }
    const image = (await call("contree_get_image", { image: "tag:busybox:latest" })).uuid as string
    const images: Array<string> = []
    const runOf = (command: string, disposable: boolean, keep?: Array<string>) => async () => {
      const out = await call("contree_run", { command, image, disposable })
      if (out.status !== "SUCCESS" || out.exit_code !== 0) throw new Error(`contree_run failed: ${JSON.stringify(out)}`)
      if (!disposable && (out.result_image === image) === (keep !== undefined)) {
        throw new Error(`unexpected result image for ${command}: ${out.result_image}`)
      }
      keep?.push(out.result_image)
    }

    const kernel = spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim()
    process.stdout.write(
      `local backend: bwrap sandboxes over stdio (kernel ${kernel}). Baselines: \`bwrap ${RAW.join(" ")}\`; ` +
        "the same contree_run without a commit; a later run on the same image; the bare SDK no-op tool round trip.\n"
    )

    const raw = await medianOf(RUNS, () => rawSpawn())
    const program = join(dataDir, "seccomp-bench.bpf")
    writeFileSync(program, seccompProgram())
    const filtered = await medianOf(RUNS, () => rawSpawn(program))
    report(`raw bwrap --seccomp (the filter's cost, med. ${RUNS})`, filtered, raw, "<= +1 ms")
    const disposable = await medianOf(RUNS, runOf("true", true))
    report(`contree_run true, disposable (median of ${RUNS})`, disposable, raw, "<= 2x")
    // As an agent calls it: a pause between runs, so the pool has a sandbox ready for each.
    const pacedTimes: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
      pacedTimes.push(await timed(runOf("true", true)))
    }
    const paced = median(pacedTimes)
    report(`  the same, ${PAUSE_MS} ms apart (median of ${RUNS})`, paced, raw, "<= 2x")

    const write = "echo x > /root/f"
    const writeDisposable = await medianOf(RUNS, runOf(write, true))
    const committed = await medianOf(RUNS, runOf(write, false, images))
    report(`contree_run write, disposable=false (med. ${RUNS})`, committed, writeDisposable, "<= +5 ms")
    const unchanged = await medianOf(RUNS, runOf("true", false))
    report(`contree_run true, disposable=false (med. ${RUNS})`, unchanged, disposable, "<= +5 ms")

    const rawRate = await throughput(() => rawSpawn())
    const rate = await throughput(runOf("true", true))
    report(`${CONCURRENT} concurrent runs: throughput (median of ${ROUNDS})`, rate, rawRate, ">= 0.5x", perSecond)

    // A new image's first run: nothing of it is mounted ahead (the pool guessed the last run's image).
    const firsts: Array<number> = []
    const laters: Array<number> = []
    for (let i = 0; i < FRESH; i++) {
      const made = (await call("contree_run", { command: `echo ${i} > /root/fresh`, image, disposable: false })).result_image as string
      const onMade = () => call("contree_run", { command: "true", image: made, disposable: true })
      firsts.push(await timed(onMade))
      let later = 0
      for (let j = 0; j < LATER; j++) later = await timed(onMade)
      laters.push(later)
    }
    const first = median(firsts)
    const later = median(laters)
    report(`first run on a newly committed image (med. ${FRESH})`, first, later, "<= 2x")

    const noop = await medianOf(READS, () => base.callTool({ name: "noop", arguments: {} }))
    const cached = await medianOf(READS, () => call("contree_read_file", { image, path: "/etc/os-release" }))
    report(`contree_read_file /etc/os-release (med. ${READS})`, cached, noop)
    // The first read of each committed image misses the server's cache: the engine reads its layers.
    let next = 0
    const fresh = await medianOf(images.length - WARM_UP, () => call("contree_read_file", { image: images[next++], path: "/etc/os-release" }), WARM_UP)
    report(`  the same, first read of an image (med. ${images.length - WARM_UP})`, fresh, noop)

    const extra = committed - writeDisposable
    process.stdout.write(
      `goals: seccomp filter ${signed(filtered - raw)} a raw spawn (<= +1 ms): ${verdict(filtered - raw <= 1)}; disposable run ${(disposable / raw).toFixed(2)}x a raw spawn (<= 2x): ${verdict(disposable <= 2 * raw)}, ` +
        `${(paced / raw).toFixed(2)}x with pauses: ${verdict(paced <= 2 * raw)}; ` +
        `commit ${signed(extra)} (<= +5 ms): ${verdict(extra <= 5)}; no-change commit ${signed(unchanged - disposable)}; ` +
        `throughput ${(rate / rawRate).toFixed(2)}x raw (>= 0.5x): ${verdict(rate >= 0.5 * rawRate)}; ` +
        `first run on a new image ${(first / later).toFixed(2)}x a later one (<= 2x): ${verdict(first <= 2 * later)}\n`
    )
  } finally {
    await ours.close()
    await base.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
