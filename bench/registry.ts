// Registry import on the local backend: a 50 MB image (two layers of random, so incompressible,
// data, gzip) pushed to a docker-registry on loopback. Figures, each beside a baseline from the
// same run:
// - the blobs streamed through RegistrySource in-process, beside `curl` fetching them;
// - contree_import_image over stdio (download, digest check, unpack), beside `curl` and beside
//   `curl | tar -xz` into a temp dir;
// - the same image imported again, where the goal is no blob transfer at all (read from the
//   registry's access log).
import { FetchHttpClient } from "@effect/platform"
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
import { pushImage, tarLayer } from "../test/support/ociPush.js"
import { mbPerSecond, median, report } from "./stats.js"

const LAYER_SIZE = 25 * 1024 * 1024
const ROUNDS = 5
const REPOSITORY = "bench/random"
const TAG = "50mb"

const timed = async (f: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await f()
  return performance.now() - started
}

export const registryBench = async (bin: string, baseEnv: NodeJS.ProcessEnv): Promise<void> => {
  if (!existsSync(DOCKER_REGISTRY) || spawnSync("curl", ["--version"]).status !== 0) {
    process.stdout.write("registry import: skipped (needs docker-registry and curl: apt-get install docker-registry curl)\n")
    return
  }
  const registry = await startDockerRegistry()
  const dataDirs: Array<string> = []
  try {
    const layers = await Promise.all([0, 1].map((i) => tarLayer([{ type: "file", path: `data/random${i}.bin`, content: randomBytes(LAYER_SIZE) }])))
    const image = await pushImage({ host: registry.host }, REPOSITORY, { format: "oci", tag: TAG, layers: layers.map((tar) => ({ tar, gzip: true })) })
    const blobBytes = image.layers.reduce((n, layer) => n + layer.size, 0)
    const megabytes = blobBytes / 1e6
    const urls = image.layers.map((layer) => `http://${registry.host}/v2/${REPOSITORY}/blobs/${layer.digest}`)

    const curl = async () => {
      const result = spawnSync("curl", ["-sSf", ...urls.flatMap((url) => ["-o", "/dev/null", url])])
      if (result.status !== 0) throw new Error(`curl failed: ${result.stderr.toString()}`)
    }
    const untar = async () => {
      const dir = mkdtempSync(join(tmpdir(), "contree-bench-untar-"))
      try {
        for (const url of urls) {
          const result = spawnSync("sh", ["-c", 'curl -sSf "$1" | tar -xzf - -C "$2"', "sh", url, dir])
          if (result.status !== 0) throw new Error(`curl | tar failed: ${result.stderr.toString()}`)
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const reference = Either.getOrThrow(parseRegistryUrl(`${registry.host}/${REPOSITORY}:${TAG}`))
    const streamed = () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const source = yield* registrySource({ reference, credentials: Option.none(), insecureRegistries: [] })
          for (const layer of (yield* source.resolve).layers) yield* Stream.runDrain(source.blob(layer))
        }).pipe(Effect.provide(FetchHttpClient.layer))
      )
    const env = { ...baseEnv, CONTREE_MCP_TOKEN: "", CONTREE_MCP_CACHE_GENERAL: "", CONTREE_MCP_CACHE_FILES: "" }
    const connect = async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "contree-bench-registry-"))
      dataDirs.push(dataDir)
      const client = new Client({ name: "bench-registry", version: "1" })
      await client.connect(
        new StdioClientTransport({ command: process.execPath, args: [bin, "--backend", "local", "--data-dir", dataDir], env: env as Record<string, string> })
      )
      return client
    }
    const importImage = async (client: Client) => {
      const result = (await client.callTool({
        name: "contree_import_image",
        arguments: { registry_url: `${registry.host}/${REPOSITORY}:${TAG}`, i_accept_that_anonymous_access_might_be_rate_limited: true }
      })) as CallToolResult
      if (result.isError) throw new Error(`contree_import_image failed: ${JSON.stringify(result.content)}`)
      return result.structuredContent as Record<string, any>
    }

    process.stdout.write(
      `registry import: ${megabytes.toFixed(1)} MB image (2 gzip layers of random data) from docker-registry on loopback. ` +
        "Baseline: curl fetching the same blobs in the same run.\n"
    )
    const curlTimes: Array<number> = []
    const untarTimes: Array<number> = []
    const streamTimes: Array<number> = []
    const importTimes: Array<number> = []
    let again = { gets: 0, bytes: 0, sameImage: false }
    // In-process code runs cold the first time; curl and the server's import have no such handicap to remove.
    await streamed()
    for (let round = 0; round < ROUNDS; round++) {
      curlTimes.push(await timed(curl))
      untarTimes.push(await timed(untar))
      streamTimes.push(await timed(streamed))
      // A fresh server over a fresh data dir each round: nothing is in its blob store yet.
      const client = await connect()
      try {
        let first: Record<string, any> = {}
        importTimes.push(await timed(async () => (first = await importImage(client))))
        const before = registry.requests().length
        const second = await importImage(client)
        const during = registry.requests().slice(before)
        const gets = blobGets({ ...registry, requests: () => during })
        again = { gets: gets.length, bytes: during.reduce((n, r) => n + r.bytes, 0), sameImage: second.result_image === first.result_image }
      } finally {
        await client.close()
      }
    }
    const rate = (ms: number) => megabytes / (ms / 1000)
    report(`RegistrySource blobs, in-process (median of ${ROUNDS})`, rate(median(streamTimes)), rate(median(curlTimes)), undefined, mbPerSecond)
    report(`contree_import_image ${megabytes.toFixed(0)} MB (median of ${ROUNDS})`, rate(median(importTimes)), rate(median(curlTimes)), undefined, mbPerSecond)
    report("  the same, beside curl | tar -xz", rate(median(importTimes)), rate(median(untarTimes)), undefined, mbPerSecond)
    process.stdout.write(
      `re-import of the same image: ${again.gets} blob GETs, ${again.bytes} bytes sent by the registry` +
        `${again.sameImage ? ", same image" : ", a DIFFERENT image"}   goal 0 blob GETs: ${again.gets === 0 ? "met" : "MISSED"}\n`
    )
  } finally {
    await registry.close()
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
  }
}
