import type { SqlClient } from "@effect/sql"
import { Clock, Effect } from "effect"
import { readdirSync, renameSync } from "node:fs"
import { join } from "node:path"
import { isTerminal } from "../../domain/Operation.js"
import { type CgroupSupport, removeStaleCgroups } from "../host/Cgroup.js"
import { isRunning, processIdentity } from "../host/HostProcess.js"
import type { ImageRecords } from "../store/ImageRecords.js"
import { internal, type LocalEngineError } from "../LocalEngineError.js"
import type { OperationRecords } from "../store/OperationRecords.js"
import { removeTree } from "../host/removeTree.js"
import type { StatePaths } from "../store/StatePaths.js"

const INTERRUPTED = "interrupted: the server stopped before the operation finished"

const entries = (dir: string) => Effect.try({ try: () => readdirSync(dir), catch: internal(`cannot read ${dir}`) })

/**
 * Start-up clean-up after a crash (or a kill -9) of this or another server process sharing the
 * state directory. Only what belongs to a process that is gone is touched:
 * - its active operations become FAILED (their sandboxes died with it: parent-death signal);
 * - run directories (partial upper dirs, injected files) of operations not running any more;
 * - staging files of dead processes (names start with the pid);
 * - layer directories no image records: a commit cut short between its rename and its transaction.
 *   This runs inside a write transaction, and commits rename inside theirs, so a commit in flight
 *   elsewhere is never mistaken for debris.
 * - empty cgroups of runs.
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
    const orphans = yield* sql.withTransaction(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* sql`INSERT INTO meta (key, value) VALUES ('layers_checked_at', ${String(now)})
        ON CONFLICT(key) DO UPDATE SET value = excluded.value`
      const known = yield* deps.images.layerIds
      const moved: Array<string> = []
      for (const id of yield* entries(paths.layers)) {
        if (known.has(id)) continue
        const away = join(paths.tmp, `${process.pid}-orphan-${id}`)
        yield* Effect.try({ try: () => renameSync(join(paths.layers, id), away), catch: internal(`cannot remove layer ${id}`) })
        moved.push(away)
      }
      return moved
    })).pipe(Effect.mapError((error) => error._tag === "LocalEngineError" ? error : dbError(error)))
    yield* Effect.forEach(orphans, removeTree, { discard: true })
    yield* removeStaleCgroups(deps.cgroups)
  })
