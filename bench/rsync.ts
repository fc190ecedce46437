// contree_rsync figures on 10,000 small files plus 20 files of 5 MB.
//
// Measured in-process with the Effect layers (FileSyncSqlite over ContreeClientLive and the fetch
// HTTP client) against the fake ConTree API on loopback. The syncs run in a child process of their
// own, so its peak RSS is the sync's alone: the tree is generated, and the fake API (which keeps
// every upload in memory) runs, in the parent.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, opendirSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { ContreeClientLive } from "../src/layers/ContreeClientLive.js"
import { FileSyncSqlite } from "../src/layers/FileSyncSqlite.js"
import { ContreeConfig } from "../src/services/ContreeConfig.js"
import { FileSync } from "../src/services/FileSync.js"
import { config as testConfig } from "../test/support/http.js"
import { bareWalk, mb, mbPerSecond, median, report } from "./stats.js"

const SMALL_FILES = 10_000
const LARGE_FILES = 20
const LARGE_SIZE = 5 * 1024 * 1024
const RUNS = 5

/** 100 directories of 100 small files (100 B to 4 KB, all distinct) and 20 files of 5 MB, an hour old. */
const generateTree = (root: string) => {
  for (let d = 0; d < SMALL_FILES / 100; d++) {
    mkdirSync(join(root, `pkg${d}`, "sub"), { recursive: true })
    for (let f = 0; f < 100; f++) {
      const dir = f < 50 ? `pkg${d}` : `pkg${d}/sub`
      writeFileSync(join(root, dir, `file${f}.py`), `# ${d}/${f}\n${"x = 1\n".repeat(16 + ((d * 100 + f) % 670))}`)
    }
  }
  mkdirSync(join(root, "assets"))
  for (let i = 0; i < LARGE_FILES; i++) writeFileSync(join(root, "assets", `blob${i}.bin`), randomBytes(LARGE_SIZE))
  const hourAgo = new Date(Date.now() - 3_600_000)
  const backdate = (dir: string) => {
    const handle = opendirSync(dir)
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) backdate(path)
      utimesSync(path, hourAgo, hourAgo)
    }
    handle.closeSync()
  }
  backdate(root)
}

/** Heap in use after a full collection (the worker runs with --expose-gc). */
const liveHeapMb = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  return process.memoryUsage().heapUsed / 1e6
}

const timed = async <A>(f: () => Promise<A>): Promise<{ readonly value: A; readonly ms: number }> => {
  const started = performance.now()
  const value = await f()
  return { value, ms: performance.now() - started }
}

const worker = async (root: string, url: string, token: string) => {
  const home = mkdtempSync(join(tmpdir(), "contree-bench-rsync-db-"))
  const config = testConfig({
    url,
    token: Option.some(Redacted.make(token)),
    cacheFiles: join(home, "files.db"),
    cacheGeneral: join(home, "cache.db")
  })
  const layer = FileSyncSqlite(config.cacheFiles).pipe(
    Layer.orDie,
    Layer.provide(ContreeClientLive),
    Layer.provide(Layer.mergeAll(FetchHttpClient.layer, Layer.succeed(ContreeConfig, config)))
  )
  const runtime = ManagedRuntime.make(layer)
  const sync = () =>
    runtime.runPromise(Effect.flatMap(FileSync, (fileSync) =>
      fileSync.sync({ source: root, destination: "/app", exclude: ["__pycache__/"], gitignore: true })))
  try {
    await runtime.runPromise(Effect.void)
    const rssBefore = process.resourceUsage().maxRSS / 1024
    const heapBefore = liveHeapMb()

    const sha256sum = await timed(async () => {
      const out = spawnSync("sh", ["-c", `find "${root}" -type f -print0 | xargs -0 sha256sum > /dev/null`], { stdio: "inherit" })
      if (out.status !== 0) throw new Error("sha256sum failed")
    })
    const first = await timed(sync)
    const totalMb = first.value.bytes / 1e6
    process.stdout.write(
      `rsync: ${first.value.files} files, ${totalMb.toFixed(1)} MB, in-process Effect layers against the fake API (child process). ` +
        "Baselines: sha256sum over the same tree; a bare opendir+lstat walk; the unchanged resync; the process before the first sync.\n"
    )
    report("rsync first sync: hashing throughput", first.value.hashedBytes / 1e6 / (first.value.hashMillis / 1000), totalMb / (sha256sum.ms / 1000), undefined, mbPerSecond)
    report("rsync first sync: total (hash, look up, upload)", first.ms, sha256sum.ms, "<= 5x")

    const walks: Array<number> = []
    const unchanged: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      walks.push((await timed(async () => bareWalk(root))).ms)
      const run = await timed(sync)
      if (run.value.hashed !== 0 || run.value.uploaded !== 0) throw new Error(`unchanged resync did work: ${JSON.stringify(run.value)}`)
      unchanged.push(run.ms)
    }
    report(`rsync unchanged resync (median of ${RUNS})`, median(unchanged), median(walks), "<= 150 ms")

    const changed: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      writeFileSync(join(root, `pkg${i}`, "file0.py"), `# changed in run ${i}\n`)
      const run = await timed(sync)
      if (run.value.uploaded !== 1) throw new Error(`one-file resync uploaded ${run.value.uploaded}`)
      changed.push(run.ms)
    }
    report(`rsync one-file-changed resync (median of ${RUNS})`, median(changed), median(unchanged))

    const rssPeak = process.resourceUsage().maxRSS / 1024
    report("rsync peak RSS (vs. before the first sync)", rssPeak, rssBefore, "<= 2x", mb)
    report("rsync live heap after the syncs, after GC", liveHeapMb(), heapBefore, undefined, mb)
  } finally {
    await runtime.dispose()
    rmSync(home, { recursive: true, force: true })
  }
}

/** Generates the tree, runs the syncs in a child process and lets it print its figures. */
export const rsyncBench = async (fake: { readonly url: string; readonly token: string }) => {
  const root = mkdtempSync(join(tmpdir(), "contree-bench-rsync-"))
  try {
    generateTree(root)
    const viteNode = resolve(import.meta.dirname, "..", "node_modules", "vite-node", "vite-node.mjs")
    const child = spawn(process.execPath, ["--expose-gc", viteNode, import.meta.filename, "--", "--rsync-worker", root, fake.url, fake.token], {
      stdio: "inherit"
    })
    const code = await new Promise<number | null>((done) => child.once("exit", done))
    if (code !== 0) throw new Error(`the rsync bench exited with ${code}`)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const at = process.argv.indexOf("--rsync-worker")
if (at !== -1) {
  const [root, url, token] = process.argv.slice(at + 1)
  await worker(root!, url!, token!)
}
