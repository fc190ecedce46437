import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import { createHash } from "node:crypto"
import { chmodSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { FileSyncSqlite } from "../../src/layers/FileSyncSqlite.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { FileSync, type SyncProgress, type SyncRequest } from "../../src/services/FileSync.js"
import { type HostFileResult, HostFileStore } from "../../src/services/HostFileStore.js"
import { backdate, symlink, tempDir, writeTree } from "../support/tree.js"

const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex")

/**
 * A server that stores uploads by content, can "lose" them, and records every call as a short
 * string ("find <sha8>", "exists <uuid>", "upload <path>"), plus the peak of calls in flight.
 */
const fakeServer = () => {
  const byHash = new Map<string, string>()
  const calls: Array<string> = []
  let uploads = 0
  let inFlight = 0
  let peak = 0
  const track = <A>(call: string, effect: Effect.Effect<A>) =>
    Effect.gen(function*() {
      calls.push(call)
      peak = Math.max(peak, ++inFlight)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      inFlight--
      return yield* effect
    })
  const client = Layer.mock(ContreeClient, {
    findFileByHash: (sha256) =>
      track(`find ${sha256.slice(0, 8)}`, Effect.sync(() => Option.map(Option.fromNullable(byHash.get(sha256)), (uuid) => ({ uuid, sha256 })))),
    fileUuidExists: (uuid) => track(`exists ${uuid}`, Effect.sync(() => [...byHash.values()].includes(uuid))),
    uploadFile: (body) =>
      track(
        `upload ${body._tag === "File" ? body.path : "bytes"}`,
        Effect.sync(() => {
          const bytes = body._tag === "File" ? readFileSync(body.path) : body.bytes
          const uuid = `file-${++uploads}`
          byHash.set(sha(bytes), uuid)
          return { uuid, sha256: sha(bytes) }
        })
      )
  })
  return {
    calls,
    peak: () => peak,
    has: (content: string) => byHash.set(sha(content), `existing-${sha(content).slice(0, 6)}`),
    lose: (content: string) => byHash.delete(sha(content)),
    layer: (filename = ":memory:") => FileSyncSqlite(filename).pipe(Layer.orDie, Layer.provide(client))
  }
}

const request = (source: string, overrides: Partial<SyncRequest> = {}): SyncRequest => ({
  source,
  destination: "/app",
  exclude: [],
  gitignore: true,
  ...overrides
})

const sync = (req: SyncRequest) => Effect.flatMap(FileSync, (fileSync) => fileSync.sync(req))
const filesOf = (id: number) => Effect.flatMap(FileSync, (fileSync) => fileSync.files(id))
const uuidAt = (id: number, path: string) => Effect.map(filesOf(id), (files) => files.find((f) => f.path === path)?.uuid)

/** A small project: two files with the same content, an executable and an empty file. */
const project = (root: string) => {
  writeTree(root, { "a.txt": "same", "b/c.txt": "same", "run.sh": "#!/bin/sh\n", "empty": "" })
  chmodSync(join(root, "run.sh"), 0o755)
  backdate(root)
}

describe("FileSyncSqlite", () => {
  it.scoped("a first sync uploads each distinct content once and records paths, uuids and modes", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const result = yield* sync(request(root, { destination: "/app/" }))
      assert.strictEqual(result.directoryStateId, 1)
      assert.deepStrictEqual(
        { files: result.files, bytes: result.bytes, hashed: result.hashed, uploaded: result.uploaded, reused: result.reused, removed: result.removed },
        { files: 4, bytes: 18, hashed: 4, uploaded: 3, reused: 1, removed: 0 }
      )
      assert.strictEqual(result.destination, "/app")
      assert.strictEqual(server.calls.filter((c) => c.startsWith("find")).length, 3)
      assert.strictEqual(server.calls.filter((c) => c.startsWith("upload")).length, 3)
      const files = yield* filesOf(result.directoryStateId)
      assert.deepStrictEqual(files.map((f) => [f.path, f.mode]), [
        ["/app/a.txt", "0644"],
        ["/app/b/c.txt", "0644"],
        ["/app/empty", "0644"],
        ["/app/run.sh", "0755"]
      ])
      assert.strictEqual(files[0]!.uuid, files[1]!.uuid)
      assert.strictEqual(new Set(files.map((f) => f.uuid)).size, 3)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("an unchanged resync reads no file and makes no server call", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const first = yield* sync(request(root))
      const callsAfterFirst = server.calls.length
      const before = yield* uuidAt(first.directoryStateId, "/app/a.txt")
      // New content of the same size, with the old mtime put back: the fingerprint is unchanged,
      // so a sync that trusts it does not notice, which shows the file was not read.
      const path = join(root, "a.txt")
      const { atime, mtime } = statSync(path)
      writeFileSync(path, "diff")
      utimesSync(path, atime, mtime)
      const second = yield* sync(request(root))
      assert.strictEqual(second.directoryStateId, first.directoryStateId)
      assert.deepStrictEqual(
        { files: second.files, hashed: second.hashed, uploaded: second.uploaded, reused: second.reused, removed: second.removed },
        { files: 4, hashed: 0, uploaded: 0, reused: 4, removed: 0 }
      )
      assert.strictEqual(server.calls.length, callsAfterFirst)
      assert.strictEqual(yield* uuidAt(first.directoryStateId, "/app/a.txt"), before)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("a changed file is hashed and uploaded; a deleted one leaves the state", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const first = yield* sync(request(root))
      const oldUuid = yield* uuidAt(first.directoryStateId, "/app/b/c.txt")
      writeFileSync(join(root, "b/c.txt"), "changed content")
      rmSync(join(root, "a.txt"))
      const calls = server.calls.length
      const second = yield* sync(request(root))
      assert.strictEqual(second.directoryStateId, first.directoryStateId)
      assert.deepStrictEqual(
        { files: second.files, hashed: second.hashed, uploaded: second.uploaded, reused: second.reused, removed: second.removed },
        { files: 3, hashed: 1, uploaded: 1, reused: 2, removed: 1 }
      )
      assert.deepStrictEqual(server.calls.slice(calls), [`find ${sha("changed content").slice(0, 8)}`, `upload ${join(root, "b/c.txt")}`])
      const files = yield* filesOf(first.directoryStateId)
      assert.deepStrictEqual(files.map((f) => f.path), ["/app/b/c.txt", "/app/empty", "/app/run.sh"])
      assert.notStrictEqual(files[0]!.uuid, oldUuid)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("a changed mode is picked up without uploading the content again", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const first = yield* sync(request(root))
      chmodSync(join(root, "a.txt"), 0o700)
      const calls = server.calls.length
      const second = yield* sync(request(root))
      assert.deepStrictEqual({ hashed: second.hashed, uploaded: second.uploaded }, { hashed: 1, uploaded: 0 })
      assert.strictEqual(server.calls.length, calls)
      const files = yield* filesOf(first.directoryStateId)
      assert.strictEqual(files.find((f) => f.path === "/app/a.txt")?.mode, "0700")
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("a file modified in the last 2 s is hashed again next time, but its known content costs no server call", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "fresh.txt": "just written", "old.txt": "old" })
      backdate(root)
      writeFileSync(join(root, "fresh.txt"), "just written")
      yield* sync(request(root))
      const calls = server.calls.length
      const second = yield* sync(request(root))
      assert.deepStrictEqual({ hashed: second.hashed, uploaded: second.uploaded, files: second.files }, { hashed: 1, uploaded: 0, files: 2 })
      assert.strictEqual(server.calls.length, calls)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("contents are re-confirmed with the server after 24 h, and one it lost is uploaded again", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const first = yield* sync(request(root))
      const lostUuid = yield* uuidAt(first.directoryStateId, "/app/run.sh")
      yield* TestClock.adjust("23 hours")
      let calls = server.calls.length
      assert.strictEqual((yield* sync(request(root))).revalidated, 0)
      assert.strictEqual(server.calls.length, calls)

      yield* TestClock.adjust("2 hours")
      server.lose("#!/bin/sh\n")
      calls = server.calls.length
      const after = yield* sync(request(root))
      assert.deepStrictEqual({ revalidated: after.revalidated, uploaded: after.uploaded, hashed: after.hashed }, { revalidated: 3, uploaded: 1, hashed: 0 })
      const made = server.calls.slice(calls)
      assert.strictEqual(made.filter((c) => c.startsWith("exists")).length, 3)
      assert.include(made, `exists ${lostUuid}`)
      assert.include(made, `upload ${join(root, "run.sh")}`)
      assert.strictEqual(made.length, 5)
      const newUuid = yield* uuidAt(first.directoryStateId, "/app/run.sh")
      assert.notStrictEqual(newUuid, lostUuid)

      // Confirmed just now: the next sync checks nothing.
      calls = server.calls.length
      assert.strictEqual((yield* sync(request(root))).revalidated, 0)
      assert.strictEqual(server.calls.length, calls)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("content the server already has is found by hash and not uploaded", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "lib.py": "shared library" })
      backdate(root)
      server.has("shared library")
      const result = yield* sync(request(root))
      assert.deepStrictEqual({ uploaded: result.uploaded, reused: result.reused }, { uploaded: 0, reused: 1 })
      assert.deepStrictEqual(server.calls, [`find ${sha("shared library").slice(0, 8)}`])
      assert.strictEqual(yield* uuidAt(result.directoryStateId, "/app/lib.py"), `existing-${sha("shared library").slice(0, 6)}`)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("uploads run at most 8 at a time", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, `content ${i}`])))
      backdate(root)
      const result = yield* sync(request(root))
      assert.strictEqual(result.uploaded, 30)
      assert.strictEqual(server.peak(), 8)
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("the same source, destination, exclude set and gitignore flag always name the same state", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "a.py": "a", "b.log": "b", "__pycache__/a.pyc": "c", "pkg/__pycache__/x.pyc": "d", ".gitignore": "*.log\n" })
      backdate(root)
      const base = yield* sync(request(root, { exclude: ["__pycache__/", "*.tmp"] }))
      const same = yield* sync(request(root, { exclude: ["*.tmp", "__pycache__/", "*.tmp"], destination: "/app//" }))
      assert.strictEqual(same.directoryStateId, base.directoryStateId)
      const noExclude = yield* sync(request(root))
      const noGitignore = yield* sync(request(root, { exclude: ["__pycache__/", "*.tmp"], gitignore: false }))
      const elsewhere = yield* sync(request(root, { exclude: ["__pycache__/", "*.tmp"], destination: "/srv" }))
      assert.deepStrictEqual(
        [base, noExclude, noGitignore, elsewhere].map((r) => r.directoryStateId),
        [1, 2, 3, 4]
      )
      assert.deepStrictEqual((yield* filesOf(1)).map((f) => f.path), ["/app/.gitignore", "/app/a.py"])
      assert.deepStrictEqual((yield* filesOf(2)).map((f) => f.path), [
        "/app/.gitignore",
        "/app/__pycache__/a.pyc",
        "/app/a.py",
        "/app/pkg/__pycache__/x.pyc"
      ])
      assert.deepStrictEqual((yield* filesOf(3)).map((f) => f.path), ["/app/.gitignore", "/app/a.py", "/app/b.log"])
      assert.deepStrictEqual((yield* filesOf(4)).map((f) => f.path), ["/srv/.gitignore", "/srv/a.py"])
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("an empty directory gives a state with no files; symlinks are reported, not synced", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      symlink(root, "link", "/etc/hostname")
      const result = yield* sync(request(root, { destination: "/" }))
      assert.strictEqual(result.files, 0)
      assert.deepStrictEqual(result.skipped, [{ path: "link", reason: "symlink" }])
      assert.deepStrictEqual(yield* filesOf(result.directoryStateId), [])
      assert.deepStrictEqual(server.calls, [])
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("states and fingerprints survive a restart", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      const dbDir = yield* tempDir("contree-filesdb-")
      const filename = join(dbDir, "nested", "files.db")
      project(root)
      const first = yield* sync(request(root)).pipe(Effect.provide(server.layer(filename)))
      const calls = server.calls.length
      const again = yield* Effect.gen(function*() {
        const result = yield* sync(request(root))
        return { result, files: yield* filesOf(result.directoryStateId) }
      }).pipe(Effect.provide(server.layer(filename)))
      assert.strictEqual(again.result.directoryStateId, first.directoryStateId)
      assert.strictEqual(again.result.hashed, 0)
      assert.strictEqual(server.calls.length, calls)
      assert.strictEqual(again.files.length, 4)
    })
  })

  it.scoped("a process notices that another one synced the same state since", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      const dbDir = yield* tempDir("contree-filesdb-")
      const filename = join(dbDir, "files.db")
      project(root)
      // Two layers over one database file stand for two server processes.
      const first = yield* Layer.build(server.layer(filename))
      const second = yield* Layer.build(server.layer(filename))
      yield* sync(request(root)).pipe(Effect.provide(first))
      writeFileSync(join(root, "a.txt"), "edited elsewhere")
      const twoHoursAgo = new Date(Date.now() - 7_200_000)
      utimesSync(join(root, "a.txt"), twoHoursAgo, twoHoursAgo)
      const other = yield* sync(request(root)).pipe(Effect.provide(second))
      assert.deepStrictEqual({ hashed: other.hashed, uploaded: other.uploaded }, { hashed: 1, uploaded: 1 })
      // The first process remembers the old fingerprint of a.txt; the bumped version tells it to reload.
      const calls = server.calls.length
      const again = yield* sync(request(root)).pipe(Effect.provide(first))
      assert.deepStrictEqual({ hashed: again.hashed, uploaded: again.uploaded, files: again.files }, { hashed: 0, uploaded: 0, files: 4 })
      assert.strictEqual(server.calls.length, calls)
    })
  })

  it.scoped("an unknown id and unusable sources or destinations are typed errors", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "file.txt": "x" })
      const unknown = yield* Effect.flip(filesOf(99))
      assert.deepStrictEqual([unknown.reason, unknown.message], ["UnknownState", "directory_state_id 99 is unknown"])
      const missing = yield* Effect.flip(sync(request(join(root, "missing"))))
      assert.strictEqual(missing._tag === "FileSyncError" && missing.reason, "InvalidSource")
      assert.include(missing.message, "does not exist")
      const file = yield* Effect.flip(sync(request(join(root, "file.txt"))))
      assert.include(file.message, "not a directory")
      const relative = yield* Effect.flip(sync(request("relative/dir")))
      assert.include(relative.message, "absolute")
      const destination = yield* Effect.flip(sync(request(root, { destination: "app" })))
      assert.strictEqual(destination._tag === "FileSyncError" && destination.reason, "InvalidDestination")
      assert.deepStrictEqual(server.calls, [])
    }).pipe(Effect.provide(server.layer()))
  })
})

/** Checks that no figure of a report is below the one before, and returns the last report. */
const increasing = (reports: ReadonlyArray<SyncProgress>): SyncProgress => {
  assert.isAbove(reports.length, 0)
  const figures = (p: SyncProgress) => [p.walked.files, p.walked.bytes, p.hashed.files, p.hashed.bytes, p.uploaded.files, p.uploaded.bytes]
  for (let i = 1; i < reports.length; i++) {
    figures(reports[i]!).forEach((n, k) => assert.isAtLeast(n, figures(reports[i - 1]!)[k]!, `report ${i}, figure ${k}`))
  }
  return reports.at(-1)!
}

/** A HostFileStore that stores by content in memory, reports as the engine does, and can say a file changed. */
const hostStore = (changed: ReadonlyArray<string> = []) => {
  const stored = new Map<string, string>()
  const calls: Array<number> = []
  const layer = Layer.succeed(HostFileStore, HostFileStore.of({
    store: (files, progress) =>
      Effect.gen(function*() {
        calls.push(files.length)
        const results: Array<HostFileResult> = []
        for (const file of files) {
          if (changed.some((name) => file.path.endsWith(name))) {
            results.push({ _tag: "Changed" })
            continue
          }
          const bytes = readFileSync(file.path)
          yield* progress?.({ phase: "hashed", files: 1, bytes: bytes.length }) ?? Effect.void
          const isNew = !stored.has(sha(bytes))
          if (isNew) stored.set(sha(bytes), `local-${stored.size + 1}`)
          yield* progress?.({ phase: "stored", files: 1, bytes: bytes.length }) ?? Effect.void
          results.push({ _tag: "Stored", file: { uuid: stored.get(sha(bytes))!, sha256: sha(bytes), size: bytes.length }, isNew })
        }
        return results
      })
  }))
  return { stored, calls, layer }
}

describe("FileSyncSqlite progress and the local bulk store", () => {
  it.scoped("a sync reports increasing figures and, at the end, totals that are what was done", () => {
    const server = fakeServer()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const reports: Array<SyncProgress> = []
      const result = yield* sync(request(root, { onProgress: (p) => Effect.sync(() => void reports.push(p)) }))
      const last = increasing(reports)
      // After the walk the totals are known; the figures reach them.
      assert.isDefined(reports.find((p) => p.total !== undefined && p.hashed.files === 0))
      assert.deepStrictEqual(last.walked, { files: 4, bytes: 18 })
      assert.deepStrictEqual(last.hashed, { files: result.hashed, bytes: result.hashedBytes })
      // Three distinct contents were made sure of on the server.
      assert.deepStrictEqual(last.uploaded, { files: 3, bytes: 14 })
      assert.deepStrictEqual(last.total, { walked: last.walked, toHash: last.hashed, toUpload: last.uploaded })
    }).pipe(Effect.provide(server.layer()))
  })

  it.scoped("with a HostFileStore the files are stored through it in one call: no hashing, lookup or upload per file", () => {
    const server = fakeServer()
    const local = hostStore()
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const reports: Array<SyncProgress> = []
      const first = yield* sync(request(root, { onProgress: (p) => Effect.sync(() => void reports.push(p)) }))
      assert.deepStrictEqual(server.calls, [])
      assert.deepStrictEqual(local.calls, [4])
      assert.deepStrictEqual({ hashed: first.hashed, uploaded: first.uploaded, reused: first.reused }, { hashed: 4, uploaded: 3, reused: 1 })
      const files = yield* filesOf(first.directoryStateId)
      assert.deepStrictEqual(new Set(files.map((f) => f.uuid)), new Set(local.stored.values()))
      const last = increasing(reports)
      assert.deepStrictEqual(last.uploaded, { files: 4, bytes: 18 })
      assert.deepStrictEqual(last.total, { walked: last.walked, toHash: last.hashed, toUpload: last.uploaded })

      const again = yield* sync(request(root))
      assert.deepStrictEqual({ hashed: again.hashed, uploaded: again.uploaded }, { hashed: 0, uploaded: 0 })
      assert.deepStrictEqual(local.calls, [4], "an unchanged resync does not call the store")
    }).pipe(Effect.provide(server.layer().pipe(Layer.provide(local.layer))))
  })

  it.scoped("a file the store found changed while it was read fails the sync, which records nothing", () => {
    const server = fakeServer()
    const local = hostStore(["run.sh"])
    return Effect.gen(function*() {
      const root = yield* tempDir()
      project(root)
      const error = yield* Effect.flip(sync(request(root)))
      assert.strictEqual(error._tag === "ContreeApiError" && error.reason, "Conflict")
      assert.include(error.message, "run.sh changed while it was synced")
      assert.strictEqual((yield* Effect.flip(filesOf(1)))._tag, "FileSyncError")
    }).pipe(Effect.provide(server.layer().pipe(Layer.provide(local.layer))))
  })
})
