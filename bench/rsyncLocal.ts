// contree_rsync on the LOCAL backend: a generated tree of 5,000 files (~55 MB, every content distinct).
//
// Measured in-process with the Effect layers (FileSyncSqlite over ContreeClientLocal and the embedded
// engine on a temporary data dir), in a child process of its own so that its peak RSS is the sync's:
// the tree is generated in the parent. Baselines: `sha256sum` over the same files, a bare
// opendir+lstat walk, and the child's RSS before the first sync.
import { Effect, Layer, ManagedRuntime } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { ContreeClientLocal, HostFileStoreLocal } from "../src/layers/ContreeClientLocal.js"
import { FileSyncSqlite } from "../src/layers/FileSyncSqlite.js"
import { LocalEngineLive } from "../src/local/LocalEngineLive.js"
import { FileSync } from "../src/services/FileSync.js"
import { backdate } from "../test/support/tree.js"
import { generateProject } from "./projectTree.js"
import { bareWalk, mb, median, report, timed } from "./stats.js"

const RUNS = 5

/** The project every local bench uses (bench/projectTree.ts), an hour old. */
export const generateLocalTree = (root: string) => {
  generateProject(root)
  backdate(root)
}

/** The sync's layers over a fresh engine in `dataDir`, as the server builds them for `--backend local`. */
export const localSyncLayer = (dataDir: string) =>
  FileSyncSqlite(join(dataDir, "files.db")).pipe(
    Layer.orDie,
    Layer.provide(Layer.merge(ContreeClientLocal, HostFileStoreLocal)),
    Layer.provide(Layer.orDie(LocalEngineLive({ stateDir: dataDir })))
  )

const worker = async (root: string) => {
  const dataDir = mkdtempSync(join(tmpdir(), "contree-bench-rsync-local-data-"))
  const runtime = ManagedRuntime.make(localSyncLayer(dataDir))
  const sync = () =>
    runtime.runPromise(Effect.flatMap(FileSync, (fileSync) => fileSync.sync({ source: root, destination: "/app", exclude: [], gitignore: true })))
  try {
    await runtime.runPromise(Effect.void)
    const rssBefore = process.resourceUsage().maxRSS / 1024
    const sha256sum = await timed(async () => {
      const out = spawnSync("sh", ["-c", `find "${root}" -type f -print0 | xargs -0 sha256sum > /dev/null`], { stdio: "inherit" })
      if (out.status !== 0) throw new Error("sha256sum failed")
    })
    const started = performance.now()
    const first = await sync()
    const firstMs = performance.now() - started
    if (first.uploaded !== first.files) throw new Error(`the first sync uploaded ${first.uploaded} of ${first.files} files`)
    process.stdout.write(
      `rsync local: ${first.files} files, ${(first.bytes / 1e6).toFixed(1)} MB, in-process Effect layers over the local engine (child process). ` +
        "Baselines: sha256sum over the same files; cp -r of the tree; a bare opendir+lstat walk; the process before the first sync.\n"
    )
    report("rsync local first sync", firstMs, sha256sum, "<= 3x")
    // The floor of any store that keeps its own copy: creating the files is most of the cost on some
    // file systems (ext4 here spends ~0.3 ms of kernel time per new inode under load).
    const copy = join(dataDir, "cp-copy")
    const cp = await timed(async () => {
      if (spawnSync("cp", ["-r", root, copy]).status !== 0) throw new Error("cp failed")
    })
    rmSync(copy, { recursive: true, force: true })
    report("rsync local first sync vs. cp -r of the tree", firstMs, cp)
    const walks: Array<number> = []
    const unchanged: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      walks.push(await timed(async () => bareWalk(root)))
      const started = performance.now()
      const run = await sync()
      unchanged.push(performance.now() - started)
      if (run.hashed !== 0 || run.uploaded !== 0) throw new Error(`unchanged resync did work: ${JSON.stringify(run)}`)
    }
    report(`rsync local unchanged resync (median of ${RUNS})`, median(unchanged), median(walks), "<= 150 ms")
    report("rsync local peak RSS (vs. before the sync)", process.resourceUsage().maxRSS / 1024, rssBefore, "<= 2x", mb)
  } finally {
    await runtime.dispose()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Generates the tree, runs the syncs in a child process and lets it print its figures. */
export const rsyncLocalBench = async () => {
  if (spawnSync("bwrap", ["--version"]).status !== 0) {
    process.stdout.write("rsync local: skipped (bubblewrap is not installed)\n")
    return
  }
  const root = mkdtempSync(join(tmpdir(), "contree-bench-rsync-local-"))
  try {
    generateLocalTree(root)
    const viteNode = resolve(import.meta.dirname, "..", "node_modules", "vite-node", "vite-node.mjs")
    const child = spawn(process.execPath, [viteNode, import.meta.filename, "--", "--rsync-local-worker", root], { stdio: "inherit" })
    const code = await new Promise<number | null>((done) => child.once("exit", done))
    if (code !== 0) throw new Error(`the local rsync bench exited with ${code}`)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const at = process.argv.indexOf("--rsync-local-worker")
if (at !== -1) await worker(process.argv[at + 1]!)
else if (process.argv.includes("--standalone")) await rsyncLocalBench()
