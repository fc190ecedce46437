// Per-phase times of a first local contree_rsync of the bench tree (bench/rsyncLocal.ts):
// `npx vite-node bench/profileRsyncLocal.ts`. The phases are FileSyncSqlite's spans (walk, hash,
// upload, record), timed by a tracer that wraps the default one.
import { Effect, Layer, ManagedRuntime, Tracer } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FileSync } from "../src/services/FileSync.js"
import { generateLocalTree, localSyncLayer } from "./rsyncLocal.js"
import { timed } from "./stats.js"

const phases = new Map<string, number>()
const timing = Layer.unwrapEffect(Effect.map(Effect.tracer, (base) =>
  Layer.setTracer(Tracer.make({
    context: base.context,
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = base.span(name, parent, context, links, startTime, kind, options)
      if (!name.startsWith("FileSync.")) return span
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        phases.set(name, (phases.get(name) ?? 0) + Number(endTime - startTime) / 1e6)
        end(endTime, exit)
      }
      return span
    }
  }))))

const root = mkdtempSync(join(tmpdir(), "contree-profile-rsync-"))
const dataDir = mkdtempSync(join(tmpdir(), "contree-profile-rsync-data-"))
const runtime = ManagedRuntime.make(Layer.provideMerge(localSyncLayer(dataDir), timing))
try {
  generateLocalTree(root)
  await runtime.runPromise(Effect.void)
  const sha256sum = await timed(async () => spawnSync("sh", ["-c", `find "${root}" -type f -print0 | xargs -0 sha256sum > /dev/null`]))
  const sync = (label: string) =>
    timed(() => runtime.runPromise(Effect.flatMap(FileSync, (fileSync) => fileSync.sync({ source: root, destination: "/app", exclude: [], gitignore: true }))))
      .then((total) => {
        const parts = [...phases].map(([name, ms]) => `${name.slice(9)} ${ms.toFixed(0)} ms`).join(", ")
        process.stdout.write(`${label}: total ${total.toFixed(0)} ms (${parts}); sha256sum ${sha256sum.toFixed(0)} ms\n`)
        phases.clear()
      })
  await sync("first sync")
  await sync("unchanged resync")
} finally {
  await runtime.dispose()
  rmSync(root, { recursive: true, force: true })
  rmSync(dataDir, { recursive: true, force: true })
}
