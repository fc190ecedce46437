// `npm run bench`: every figure is printed beside a baseline measured in the same run.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { startFakeContreeApi } from "../test/fake/FakeContreeApi.js"
import { directoryStateBench } from "./directoryState.js"
import { importLocalBench } from "./importLocal.js"
import { localBench } from "./local.js"
import { registryBench } from "./registry.js"
import { rsyncBench } from "./rsync.js"
import { rsyncLocalBench } from "./rsyncLocal.js"
import { serveBench } from "./serve.js"
import { medianOf, report } from "./stats.js"
import { startupMedian } from "./startup.js"

const root = resolve(import.meta.dirname, "..")
const bin = join(root, "dist", "bin.js")
const baseline = join(root, "bench", "baselineServer.mjs")

const fake = await startFakeContreeApi({ pendingMs: 0, executingMs: 0 })
const home = mkdtempSync(join(tmpdir(), "contree-bench-"))
const env: NodeJS.ProcessEnv = {
  PATH: process.env["PATH"],
  HOME: home,
  CONTREE_MCP_URL: fake.url,
  CONTREE_MCP_TOKEN: fake.token,
  CONTREE_MCP_CONFIG: join(home, "none.ini"),
  CONTREE_MCP_CACHE_GENERAL: join(home, "cache.db")
}

const connect = async (args: ReadonlyArray<string>) => {
  const client = new Client({ name: "bench", version: "1" })
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [...args], env: env as Record<string, string> }))
  return client
}

/** Median round trip of `call` over 200 calls. */
const roundTrip = (call: () => Promise<unknown>) => medianOf(200, call, 10)

try {
  process.stdout.write(`contree-mcp bench (node ${process.version}, fake ConTree API on loopback)\n\n`)

  const baseStart = await startupMedian(process.execPath, [baseline], env)
  const ourStart = await startupMedian(process.execPath, [bin], env)
  report("start -> initialize response (median of 10)", ourStart, baseStart, "<= 1.5x")

  const base = await connect([baseline])
  const ours = await connect([bin])
  const noop = await roundTrip(() => base.callTool({ name: "noop", arguments: {} }))
  const image = [...fake.state.images.keys()][0]!
  const cached = await roundTrip(() => ours.callTool({ name: "contree_get_image", arguments: { image } }))
  report("contree_get_image, cached (median of 200)", cached, noop, "<= 1 ms")
  const listed = await roundTrip(() => ours.callTool({ name: "contree_list_images", arguments: {} }))
  report("contree_list_images via fake API (median of 200)", listed, noop)
  await base.close()
  await ours.close()

  process.stdout.write("\n")
  await localBench(bin, baseline, env)

  process.stdout.write("\n")
  await directoryStateBench(bin, env)

  process.stdout.write("\n")
  await importLocalBench(bin, env)

  process.stdout.write("\n")
  await registryBench(bin, env)

  process.stdout.write("\n")
  await serveBench(bin, env)

  process.stdout.write("\n")
  await rsyncBench(fake)

  process.stdout.write("\n")
  await rsyncLocalBench()
} finally {
  await fake.close()
  rmSync(home, { recursive: true, force: true })
}
