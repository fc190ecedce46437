import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { SpawnRequest } from "../../src/domain/Instance.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { FileSync, FileSyncError, type SkippedEntry, type SyncedFile, type SyncProgress, type SyncRequest, type SyncResult } from "../../src/services/FileSync.js"
import { OperationWaiter } from "../../src/services/OperationWaiter.js"
import { contreeRsync } from "../../src/tools/contree_rsync.js"
import { contreeRun } from "../../src/tools/contree_run.js"
import { finishedRun, IMAGE } from "../support/fixtures.js"
import { call, callFails, type Progress, toolServices } from "../support/tools.js"

const result = (overrides: Partial<SyncResult> = {}): SyncResult => ({
  directoryStateId: 7,
  source: "/home/me/proj",
  destination: "/app",
  files: 3,
  bytes: 300,
  hashed: 2,
  hashedBytes: 200,
  hashMillis: 1.5,
  uploaded: 1,
  uploadedBytes: 100,
  reused: 2,
  revalidated: 0,
  removed: 1,
  skipped: [{ path: "link", reason: "symlink" }, { path: "secret.txt", reason: "unreadable", detail: "EACCES" }],
  ...overrides
})

/** A FileSync that records sync requests and answers with `answer`. */
const syncing = (answer: Effect.Effect<SyncResult, FileSyncError> = Effect.succeed(result())) => {
  const requests: Array<SyncRequest> = []
  const layer = Layer.mock(FileSync, { sync: (req) => Effect.sync(() => void requests.push(req)).pipe(Effect.zipRight(answer)) })
  return { requests, layer: toolServices({ fileSync: layer }) }
}

describe("contree_rsync", () => {
  it.effect("passes the request on with gitignore honoured by default and reports the counts", () => {
    const h = syncing()
    return Effect.gen(function*() {
      const out = yield* call(contreeRsync, { source: "/home/me/proj", destination: "/app" })
      assert.deepStrictEqual(h.requests, [{ source: "/home/me/proj", destination: "/app", exclude: [], gitignore: true }])
      assert.deepStrictEqual(out, {
        directory_state_id: 7,
        source: "/home/me/proj",
        destination: "/app",
        files: 3,
        bytes: 300,
        hashed: 2,
        uploaded: 1,
        uploaded_bytes: 100,
        reused: 2,
        revalidated: 0,
        removed: 1,
        skipped: 2,
        skipped_entries: [{ path: "link", reason: "symlink" }, { path: "secret.txt", reason: "unreadable", detail: "EACCES" }]
      })
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("expands ~, passes exclude and gitignore=false through", () => {
    const h = syncing()
    return Effect.gen(function*() {
      yield* call(contreeRsync, { source: "~/proj", destination: "/srv/app/", exclude: ["node_modules/", "!keep"], gitignore: false })
      assert.deepStrictEqual(h.requests, [{
        source: join(homedir(), "proj"),
        destination: "/srv/app/",
        exclude: ["node_modules/", "!keep"],
        gitignore: false
      }])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("refuses relative paths before syncing anything", () => {
    const h = syncing()
    return Effect.gen(function*() {
      const source = yield* callFails(contreeRsync, { source: "proj", destination: "/app" })
      assert.strictEqual(source.reason, "InvalidInput")
      assert.include(source.message, "source must be an absolute path")
      const destination = yield* callFails(contreeRsync, { source: "/proj", destination: "app" })
      assert.strictEqual(destination.reason, "InvalidInput")
      assert.include(destination.message, "destination")
      assert.deepStrictEqual(h.requests, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("counts every skipped entry but lists at most 100", () => {
    const skipped: Array<SkippedEntry> = Array.from({ length: 250 }, (_, i) => ({ path: `bin/l${i}`, reason: "symlink" }))
    const h = syncing(Effect.succeed(result({ skipped })))
    return Effect.gen(function*() {
      const out = yield* call(contreeRsync, { source: "/proj", destination: "/app" })
      assert.strictEqual(out["skipped"], 250)
      assert.strictEqual((out["skipped_entries"] as ReadonlyArray<unknown>).length, 100)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("turns a bad source into an input error the agent can act on", () => {
    const h = syncing(Effect.fail(new FileSyncError({ reason: "InvalidSource", message: "source path does not exist: /nope" })))
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRsync, { source: "/nope", destination: "/app" })
      assert.deepStrictEqual([error.reason, error.message], ["InvalidInput", "source path does not exist: /nope"])
    }).pipe(Effect.provide(h.layer))
  })

  it("is annotated as a non-destructive, idempotent tool that talks to the service", () => {
    assert.deepStrictEqual(contreeRsync.annotations, {
      title: "Sync a local directory for sandboxes",
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true
    })
    const properties = contreeRsync.inputSchema["properties"] as Record<string, { default?: unknown; description?: string }>
    assert.strictEqual(properties["gitignore"]?.default, true)
    for (const name of ["source", "destination", "exclude", "gitignore"]) assert.isString(properties[name]?.description, name)
  })
})

describe("contree_run with directory_state_id", () => {
  const harness = (files: Effect.Effect<ReadonlyArray<SyncedFile>, FileSyncError>) => {
    const spawned: Array<unknown> = []
    const asked: Array<number> = []
    const layer = toolServices({
      client: Layer.mock(ContreeClient, {
        spawnInstance: (request) => Effect.sync(() => (spawned.push(Schema.encodeSync(SpawnRequest)(request)), "op-1"))
      }),
      waiter: Layer.mock(OperationWaiter, { track: () => Effect.void, wait: () => Effect.succeed(finishedRun({})) }),
      fileSync: Layer.mock(FileSync, { files: (id) => Effect.sync(() => void asked.push(id)).pipe(Effect.zipRight(files)) })
    })
    return { spawned, asked, layer }
  }

  it.effect("places the state's files with their modes; an explicit file at the same path wins", () => {
    const h = harness(Effect.succeed([
      { path: "/app/main.py", uuid: "u-main", mode: "0644" },
      { path: "/app/run.sh", uuid: "u-run", mode: "0755" }
    ]))
    return Effect.gen(function*() {
      yield* call(contreeRun, { command: "sh run.sh", image: IMAGE, directory_state_id: 3, files: { "/app/main.py": "u-override" } })
      assert.deepStrictEqual(h.asked, [3])
      assert.deepStrictEqual((h.spawned[0] as { files: unknown }).files, {
        "/app/main.py": { uuid: "u-override", mode: "0644", uid: 0, gid: 0 },
        "/app/run.sh": { uuid: "u-run", mode: "0755", uid: 0, gid: 0 }
      })
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("an unknown id says how to get one, and nothing is spawned", () => {
    const h = harness(Effect.fail(new FileSyncError({ reason: "UnknownState", message: "directory_state_id 42 is unknown" })))
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRun, { command: "ls", image: IMAGE, directory_state_id: 42 })
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "directory_state_id 42 is unknown")
      assert.include(error.message, "contree_rsync")
      assert.deepStrictEqual(h.spawned, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("a state without files is refused rather than run without them", () => {
    const h = harness(Effect.succeed([]))
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRun, { command: "ls", image: IMAGE, directory_state_id: 5 })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "has no files")
      assert.deepStrictEqual(h.spawned, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("ids are positive integers", () => {
    const h = harness(Effect.succeed([]))
    return Effect.gen(function*() {
      for (const id of [0, -1, 1.5, "3"]) {
        const error = yield* callFails(contreeRun, { command: "ls", image: IMAGE, directory_state_id: id })
        assert.strictEqual(error.reason, "InvalidInput", String(id))
      }
      assert.deepStrictEqual(h.asked, [])
    }).pipe(Effect.provide(h.layer))
  })
})

describe("contree_rsync progress", () => {
  const progress = (overrides: Partial<SyncProgress>): SyncProgress => ({
    walked: { files: 0, bytes: 0 },
    hashed: { files: 0, bytes: 0 },
    uploaded: { files: 0, bytes: 0 },
    ...overrides
  })

  it.effect("is asked of the sync only when the client wants it, and sent as increasing bytes against a total", () =>
    Effect.gen(function*() {
      const sent: Array<Progress> = []
      const requests: Array<SyncRequest> = []
      const fileSync = Layer.mock(FileSync, {
        sync: (req) =>
          Effect.gen(function*() {
            requests.push(req)
            const report = req.onProgress ?? (() => Effect.void)
            yield* report(progress({ walked: { files: 2, bytes: 2_000_000 } }))
            const total = { walked: { files: 4, bytes: 4_000_000 }, toHash: { files: 4, bytes: 4_000_000 }, toUpload: { files: 0, bytes: 0 } }
            yield* report(progress({ walked: total.walked, total }))
            // Nothing new: not sent again.
            yield* report(progress({ walked: total.walked, total }))
            yield* report(progress({ walked: total.walked, hashed: total.toHash, uploaded: { files: 3, bytes: 3_000_000 }, total: { ...total, toUpload: { files: 3, bytes: 3_000_000 } } }))
            return result()
          })
      })
      yield* call(contreeRsync, { source: "/home/me/proj", destination: "/app" }).pipe(Effect.provide(toolServices({ fileSync, progress: sent })))
      assert.deepStrictEqual(sent, [
        { progress: 2_000_000, total: undefined, message: "walking: 2 files (2.0 MB) so far" },
        { progress: 4_000_000, total: 8_000_000, message: "walked 4 files (4.0 MB); hashed 0 of 4 files (0.0 MB of 4.0 MB); uploaded 0 of 0 files (0.0 MB of 0.0 MB)" },
        { progress: 11_000_000, total: 11_000_000, message: "walked 4 files (4.0 MB); hashed 4 of 4 files (4.0 MB of 4.0 MB); uploaded 3 of 3 files (3.0 MB of 3.0 MB)" }
      ])
      yield* call(contreeRsync, { source: "/home/me/proj", destination: "/app" }).pipe(Effect.provide(toolServices({ fileSync })))
      assert.isDefined(requests[0]!.onProgress)
      assert.isUndefined(requests[1]!.onProgress, "no progressToken, no counting")
    }))
})
