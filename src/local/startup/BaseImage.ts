import type { SqlClient } from "@effect/sql"
import { Clock, Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import { existsSync, renameSync } from "node:fs"
import { join } from "node:path"
import type { HostCapabilities } from "../host/HostCapabilities.js"
import { removeTree } from "../host/removeTree.js"
import { BUSYBOX, buildBusyboxLayer } from "../images/BusyboxImage.js"
import { internal } from "../LocalEngineError.js"
import type { ImageRecords } from "../store/ImageRecords.js"
import { layerDir, newLayerId, type StatePaths } from "../store/StatePaths.js"

const BUSYBOX_TAG = "busybox:latest"

/**
 * The offline base image, built once per state directory: another server process may be building
 * it too, and whichever claims `base:busybox` first records its layer; the other drops its own.
 */
export const ensureBusybox = (sql: SqlClient.SqlClient, images: ImageRecords, paths: StatePaths, host: HostCapabilities) =>
  Effect.gen(function*() {
    const done = yield* sql`SELECT value FROM meta WHERE key = 'base:busybox'`
    if (done.length > 0) return
    if (!existsSync(BUSYBOX)) {
      return yield* Effect.logWarning(`no offline base image: ${BUSYBOX} is missing (Debian: apt-get install busybox-static)`)
    }
    const layer = newLayerId()
    const staging = join(paths.tmp, `${process.pid}-busybox-${layer}`)
    const version = yield* buildBusyboxLayer(staging, host.ids.uid, host.ids.gid)
    const uuid = randomUUID()
    yield* images.stageLayers([layer], yield* Clock.currentTimeMillis)
    const claimed = yield* sql.withTransaction(Effect.gen(function*() {
      yield* images.unstageLayers([layer])
      const won = yield* sql`INSERT INTO meta (key, value) VALUES ('base:busybox', ${uuid}) ON CONFLICT(key) DO NOTHING RETURNING key`
      if (won.length === 0) return false
      const tagFree = Option.isNone(yield* images.byTag(BUSYBOX_TAG))
      yield* Effect.try({ try: () => renameSync(staging, layerDir(paths, layer)), catch: internal("cannot store the base image") })
      yield* images.insert(
        {
          uuid,
          layers: [layer],
          parent: null,
          tag: tagFree ? BUSYBOX_TAG : null,
          source: `busybox-static ${version}`,
          operation: null,
          createdAt: yield* Clock.currentTimeMillis,
          manifest: null,
          defaults: null
        },
        { id: layer, opaque: [] }
      )
      return true
    }))
    if (!claimed) yield* removeTree(staging)
  })
