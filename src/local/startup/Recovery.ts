import type { SqlClient } from "@effect/sql"
import { Clock, Effect } from "effect"
import { readdirSync, renameSync } from "node:fs"
import { join } from "node:path"
import { isTerminal } from "../../domain/Operation.js"
import { type CgroupSupport, removeStaleCgroups } from "../host/Cgroup.js"
import { isRunning, processIdentity } from "../host/HostProcess.js"
import type { ImageRecords } from "../store/ImageRecords.js"
import { internal, LocalEngineError } from "../LocalEngineError.js"
import type { OperationRecords } from "../store/OperationRecords.js"
import { removeTree } from "../host/removeTree.js"
import type { StatePaths } from "../store/StatePaths.js"

const INTERRUPTED = "interrupted: the server stopped before the operation finished"

const entries = (dir: string) => Effect.try({ try: () => readdirSync(dir), catch: internal(`cannot read ${dir}`) })

/** A database with no image cannot vouch for the layer directories beside it: the start stops, and nothing is touched. */
const refuseForgottenLayers = (deps: { readonly sql: SqlClient.SqlClient; readonly paths: StatePaths; readonly images: ImageRecords }) =>
  Effect.gen(function*() {
    const onDisk = yield* entries(deps.paths.layers)
    if (onDisk.length === 0) return
    // One snapshot, read after the listing: a directory listed was renamed after its staged row
    // committed, so the snapshot shows that row or, once its transaction committed, its image.
    const { hasImages, staged } = yield* deps.sql.withTransaction(
      Effect.all({ hasImages: deps.images.hasImages, staged: deps.images.stagedLayers })
    ).pipe(Effect.mapError(internal("cannot read the engine database")))
    if (hasImages) return
    // A first import cut short before any image was recorded leaves a staged layer, which this database does vouch for.
    const stagedIds = new Set(staged.map((row) => row.id))
    const layers = onDisk.filter((id) => !stagedIds.has(id))
    if (layers.length === 0) return
    return yield* new LocalEngineError({
      reason: "Unavailable",
      message: `${join(deps.paths.root, "engine.db")} records no image, but ${deps.paths.layers} holds ${layers.length} layer ` +
        "director" + (layers.length === 1 ? "y" : "ies") + ": the database was emptied or replaced, and starting on it would lose every image. " +
        "Nothing was changed. Put the engine.db these layers belong to back (with its -wal file, if any); " +
        `or, to start afresh and drop those images, move ${deps.paths.layers} away (or use another data directory)`
    })
  })

/**
 * Start-up clean-up after a crash (or a kill -9) of this or another server process sharing the
 * state directory. Only what belongs to a process that is gone is touched:
 * - its active operations become FAILED (their sandboxes died with it: parent-death signal);
 * - run directories (partial upper dirs, injected files) of operations not running any more;
 * - staging files of dead processes (names start with the pid);
 * - layer directories that a process now gone recorded as staged (ImageRecords.stageLayers) and no
 *   transaction recorded as layers: a rename into place whose transaction never committed. This
 *   runs inside a write transaction, and layers are renamed into place inside theirs, so a rename
 *   in flight elsewhere is never mistaken for debris. A layer directory the database knows nothing
 *   of is kept (and named in a warning): the database's word is not enough to delete it.
 * - empty cgroups of runs.
 * Before anything, a database with no image beside layer directories (emptied, or replaced by a
 * new one) stops the start: recovering on its word would delete every image.
 */
export const recover = (deps: {
  readonly sql: SqlClient.SqlClient
  readonly paths: StatePaths
  readonly images: ImageRecords
  readonly operations: OperationRecords
  readonly cgroups: CgroupSupport
}): Effect.Effect<void, LocalEngineError> =>
  Effect.gen(function*() {
    const { operations, paths, sql } = deps
    const dbError = internal("cannot recover the engine's state")
    yield* refuseForgottenLayers(deps)
    for (const row of yield* operations.active.pipe(Effect.mapError(dbError))) {
      if (!isRunning(row.owner)) yield* operations.abandon(row.uuid, INTERRUPTED).pipe(Effect.mapError(dbError))
    }
    for (const name of yield* entries(paths.runs)) {
      const row = yield* operations.get(name).pipe(Effect.mapError(dbError))
      const live = row._tag === "Some" && !isTerminal(row.value.status) && isRunning(row.value.owner)
      if (!live) yield* removeTree(join(paths.runs, name))
    }
    for (const name of yield* entries(paths.tmp)) {
      if (processIdentity(parseInt(name, 10)) === undefined) yield* removeTree(join(paths.tmp, name))
    }
    const { orphans, unknown } = yield* sql.withTransaction(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* sql`INSERT INTO meta (key, value) VALUES ('layers_checked_at', ${String(now)})
        ON CONFLICT(key) DO UPDATE SET value = excluded.value`
      const known = yield* deps.images.layerIds
      const staged = yield* deps.images.stagedLayers
      const onDisk = new Set(yield* entries(paths.layers))
      const moved: Array<string> = []
      const settled: Array<string> = []
      for (const { id, owner } of staged) {
        if (isRunning(owner)) continue
        settled.push(id)
        if (known.has(id) || !onDisk.has(id)) continue
        const away = join(paths.tmp, `${process.pid}-orphan-${id}`)
        yield* Effect.try({ try: () => renameSync(join(paths.layers, id), away), catch: internal(`cannot remove layer ${id}`) })
        moved.push(away)
      }
      yield* deps.images.unstageLayers(settled)
      const stagedIds = new Set(staged.map((row) => row.id))
      return { orphans: moved, unknown: [...onDisk].filter((id) => !known.has(id) && !stagedIds.has(id)) }
    })).pipe(Effect.mapError((error) => error._tag === "LocalEngineError" ? error : dbError(error)))
    if (unknown.length > 0) {
      yield* Effect.logWarning(
        `${unknown.length} layer director${unknown.length === 1 ? "y" : "ies"} in ${paths.layers} that engine.db does not know ` +
          `(kept, not deleted): ${unknown.slice(0, 10).join(", ")}${unknown.length > 10 ? ", …" : ""}`
      )
    }
    yield* Effect.forEach(orphans, removeTree, { discard: true })
    yield* removeStaleCgroups(deps.cgroups)
  })
