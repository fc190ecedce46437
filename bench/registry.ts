// Registry import on the local backend: a 50 MB image (two layers of random, so incompressible,
// data, gzip) pushed to a docker-registry on loopback. Figures, each beside a baseline from the
// same run:
// - the blobs streamed through RegistrySource in-process, beside `curl` fetching them;
// - contree_import_image over stdio (download, digest check, unpack) of a new image each round,
//   on one server, beside `curl` and beside `curl | tar -xz` into a temp dir; the server's first
//   import, which runs cold, apart; the server's peak RSS over them beside its RSS before;
// - the same image imported again, where the goal is no blob transfer at all (read from the
//   registry's access log).
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either, Option, Stream } from "effect"
import { parseRegistryUrl } from "../src/domain/RegistryUrl.js"
import { registrySource } from "../src/local/oci/RegistrySource.js"
import { blobGets, DOCKER_REGISTRY, startDockerRegistry } from "../test/support/dockerRegistry.js"
import { type PushedImage, pushImage, tarLayer } from "../test/support/ociPush.js"
import { mb, mbPerSecond, median, report, statusMb, timed } from "./stats.js"

const LAYER_SIZE = 25 * 1024 * 1024
const ROUNDS = 5
const REPOSITORY = "bench/random"
const TAG = "50mb"

export const registryBench = async (bin: string, baseEnv: NodeJS.ProcessEnv): Promise<void> => {
  if (!existsSync(DOCKER_REGISTRY) || spawnSync("curl", ["--version"]).status !== 0) {
    process.stdout.write("registry import: skipped (needs docker-registry and curl: apt-get install docker-registry curl)\n")
    return
  }
  const registry = await startDockerRegistry()
  const dataDir = mkdtempSync(join(tmpdir(), "contree-bench-registry-"))
  try {
    // One image per round and one to warm up with, each of fresh random data: every import is a first one.
    const images: Array<PushedImage> = []
    for (let round = 0; round <= ROUNDS; round++) {
      const layers = await Promise.all([0, 1].map((i) => tarLayer([{ type: "file", path: `data/random${i}.bin`, content: randomBytes(LAYER_SIZE) }])))
      images.push(await pushImage({ host: registry.host }, REPOSITORY, { format: "oci", tag: `${TAG}-${round}`, layers: layers.map((tar) => ({ tar, gzip: true })) }))
    }
    const megabytes = images[0]!.layers.reduce((n, layer) => n + layer.size, 0) / 1e6
    const urlsOf = (round: number) => images[round]!.layers.map((layer) => `http://${registry.host}/v2/${REPOSITORY}/blobs/${layer.digest}`)

    const curl = async (round: number) => {
      const result = spawnSync("curl", ["-sSf", ...urlsOf(round).flatMap((url) => ["-o", "/dev/null", url])])
      if (result.status !== 0) throw new Error(`curl failed: ${result.stderr.toString()}`)
    }
    const untar = async (round: number) => {
      const dir = mkdtempSync(join(tmpdir(), "contree-bench-untar-"))
      try {
        for (const url of urlsOf(round)) {
          const result = spawnSync("sh", ["-c", 'curl -sSf "$1" | tar -xzf - -C "$2"', "sh", url, dir])
          if (result.status !== 0) throw new Error(`curl | tar failed: ${result.stderr.toString()}`)
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const urlOf = (round: number) => `${registry.host}/${REPOSITORY}:${TAG}-${round}`
    const streamed = (round: number) =>
      Effect.runPromise(
        Effect.gen(function*() {
          const reference = Either.getOrThrow(parseRegistryUrl(urlOf(round)))
          const source = yield* registrySource({ reference, credentials: Option.none(), insecureRegistries: [] })
          for (const layer of (yield* source.resolve).layers) yield* Stream.runDrain(source.blob(layer))
        }).pipe(Effect.provide(FetchHttpClient.layer))
      )
    const env = { ...baseEnv, CONTREE_MCP_TOKEN: "", CONTREE_MCP_CACHE_GENERAL: "", CONTREE_MCP_CACHE_FILES: "" }
    const client = new Client({ name: "bench-registry", version: "1" })
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, "--backend", "local", "--data-dir", dataDir], env: env as Record<string, string> })
    await client.connect(transport)
    const importImage = async (round: number) => {
      const result = (await client.callTool({
        name: "contree_import_image",
        arguments: { registry_url: urlOf(round), i_accept_that_anonymous_access_might_be_rate_limited: true }
      })) as CallToolResult
      if (result.isError) throw new Error(`contree_import_image failed: ${JSON.stringify(result.content)}`)
      return result.structuredContent as Record<string, any>
    }

    try {
      process.stdout.write(
        `registry import: ${megabytes.toFixed(1)} MB images (2 gzip layers of random data) from docker-registry on loopback, ` +
          "a new image each round. Baselines: curl, and curl | tar -xz, fetching the same blobs in the same run.\n"
      )
      const curlTimes: Array<number> = []
      const untarTimes: Array<number> = []
      const streamTimes: Array<number> = []
      const importTimes: Array<number> = []
      let first: Record<string, any> = {}
      // The first import of a server, and in-process code, run cold: measured apart, not in the medians.
      await curl(0)
      await client.callTool({ name: "contree_list_images", arguments: {} }) // starts the engine before its RSS is read
      const rssBefore = statusMb(transport.pid!, "VmRSS")
      const coldImport = await timed(() => importImage(0))
      await streamed(0)
      for (let round = 1; round <= ROUNDS; round++) {
        curlTimes.push(await timed(() => curl(round)))
        untarTimes.push(await timed(() => untar(round)))
        streamTimes.push(await timed(() => streamed(round)))
        importTimes.push(await timed(async () => (first = await importImage(round))))
      }
      const peak = statusMb(transport.pid!, "VmHWM")
      const before = registry.requests().length
      const second = await importImage(ROUNDS)
      const during = registry.requests().slice(before)
      const gets = blobGets({ ...registry, requests: () => during }).length
      const bytes = during.reduce((n, r) => n + r.bytes, 0)

      const rate = (ms: number) => megabytes / (ms / 1000)
      const curlRate = rate(median(curlTimes))
      report(`RegistrySource blobs, in-process (median of ${ROUNDS})`, rate(median(streamTimes)), curlRate, undefined, mbPerSecond)
      report(`contree_import_image ${megabytes.toFixed(0)} MB (median of ${ROUNDS})`, rate(median(importTimes)), curlRate, undefined, mbPerSecond)
      // Rates, so the goal (the import within 1.5x the time of curl | tar -xz) is a rate of at least 1/1.5 of its rate.
      report("  the same, beside curl | tar -xz", rate(median(importTimes)), rate(median(untarTimes)), ">= 0.67x (time <= 1.5x)", mbPerSecond)
      report("  the server's first import (cold)", rate(coldImport), curlRate, undefined, mbPerSecond)
      report(`  peak RSS over the ${ROUNDS + 1} imports (VmHWM)`, peak, rssBefore, "<= 2x", mb)
      process.stdout.write(
        `re-import of the same image: ${gets} blob GETs, ${bytes} bytes sent by the registry` +
          `${second.result_image === first.result_image ? ", same image" : ", a DIFFERENT image"}   goal 0 blob GETs: ${gets === 0 ? "met" : "MISSED"}\n`
      )
    } finally {
      await client.close()
    }
  } finally {
    await registry.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
