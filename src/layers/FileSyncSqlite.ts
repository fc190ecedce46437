import { SqlClient, type SqlError } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Clock, Effect, Either, type Layer, Option, type ParseResult, Schema } from "effect"
import { realpath, stat } from "node:fs/promises"
import { posix } from "node:path"
import { sha256File } from "../files/sha256File.js"
import { type KnownUpload, REVALIDATE_AFTER_MS, uploadDeduplicatedWith } from "../files/uploadDeduplicated.js"
import { errorCode, walkTree, type WalkedFile } from "../files/walkTree.js"
import { RecentMap } from "../domain/RecentMap.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ContreeApiError } from "../services/ContreeError.js"
import { HostFileStore } from "../services/HostFileStore.js"
import { FileSync, FileSyncError, type SkippedEntry, type SyncedFile, type SyncRequest, type SyncResult } from "../services/FileSync.js"
import { decodeRows, prepareDatabase, sqliteService } from "./sqliteService.js"
import { progressTally } from "./syncProgress.js"

// Decisions, in one place:
// - The tables are prefixed `sync_`, so a files.db written by the reference server (tables `files`,
//   `directory_state`, `directory_state_file`) is left intact; its ids are not carried over.
// - A state is keyed by the resolved source, the normalised destination, the sorted exclude set and
//   the gitignore flag: the same sync always gets the same integer id, and a resync updates it.
// - Files reference content by sha256; `sync_blob` maps a sha256 to the server's file uuid and
//   when that was last confirmed. Every state with that content follows a re-upload at once.
// - mtime_ns and inode are stored as decimal text: they exceed 2^53, which SQLite numbers survive
//   but JavaScript numbers do not.
// - A file modified less than RACY_WINDOW_MS before the sync read it is "racy" (git's term): a
//   later edit within the same timestamp tick could keep size and mtime, so its fingerprint is
//   not trusted next time and it is hashed again (locally; no server call if the content is known).
// - A sync runs in phases: walk (one lstat per entry), hash what changed (8 at a time, streamed),
//   make sure the server has each new content once and re-confirm contents last checked over 24 h
//   ago (8 requests at a time), then one transaction. An unchanged resync writes nothing.
// - Modes are the permission bits, sent as four octal digits ("0755"), not the reference's
//   `oct(st_mode)`. `sync_blob` rows are never deleted: they are the memory of what the server has.
const RACY_WINDOW_MS = 2_000
const HASH_CONCURRENCY = 8
const UPLOAD_CONCURRENCY = 8
// Rows per multi-row statement; 8 columns x 500 stays far below SQLite's 32,766 parameters.
const CHUNK = 500
const MAX_REMEMBERED_STATES = 16

const migrations = Migrator.fromRecord({
  "0001_file_sync": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS sync_state (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      sync_key TEXT NOT NULL UNIQUE,
      source TEXT NOT NULL,
      destination TEXT NOT NULL,
      exclude TEXT NOT NULL,
      gitignore INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      synced_at INTEGER NOT NULL,
      version INTEGER NOT NULL
    )`
    yield* sql`CREATE TABLE IF NOT EXISTS sync_blob (
      sha256 TEXT PRIMARY KEY,
      uuid TEXT NOT NULL,
      size INTEGER NOT NULL,
      verified_at INTEGER NOT NULL
    ) WITHOUT ROWID`
    yield* sql`CREATE TABLE IF NOT EXISTS sync_file (
      state_id INTEGER NOT NULL REFERENCES sync_state(id) ON DELETE CASCADE,
      path TEXT NOT NULL,
      size INTEGER NOT NULL,
      mtime_ns TEXT NOT NULL,
      ino TEXT NOT NULL,
      mode INTEGER NOT NULL,
      racy INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      PRIMARY KEY (state_id, path)
    ) WITHOUT ROWID`
  })
})

/** A file as the last sync recorded it, with what is known of its content on the server. */
interface Recorded {
  readonly size: number
  readonly mtimeNs: string
  readonly ino: string
  readonly mode: number
  readonly racy: boolean
  readonly sha256: string
  readonly uuid: string | null
  readonly verifiedAt: number | null
}

const BlobRow = Schema.Struct({ sha256: Schema.String, uuid: Schema.String, size: Schema.Number, verified_at: Schema.Number })
const StateRow = Schema.Struct({ id: Schema.Number, version: Schema.Number })
const Version = Schema.Struct({ version: Schema.Number })
const Id = Schema.Struct({ id: Schema.Number })
const Destination = Schema.Struct({ destination: Schema.String })

const chunks = <A>(items: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

const storage = (what: string) => (cause: SqlError.SqlError | ParseResult.ParseError) =>
  new FileSyncError({ reason: "Storage", message: `file-sync database: cannot ${what}: ${cause.message}`, cause })

/** `/app/` -> `/app`, `/a/../b` -> `/b`; `/` stays. */
export const normaliseDestination = (destination: string): string => {
  const normalised = posix.normalize(destination)
  return normalised.length > 1 ? normalised.replace(/\/+$/, "") : normalised
}

/** Four octal digits of the permission bits, as the spawn request wants them. */
export const octalMode = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, "0")

const targetPath = (destination: string, rel: string) => destination === "/" ? `/${rel}` : `${destination}/${rel}`

const resolveSource = (source: string) =>
  Effect.gen(function*() {
    if (!posix.isAbsolute(source)) {
      return yield* new FileSyncError({ reason: "InvalidSource", message: `source must be an absolute path, got: ${source}` })
    }
    const root = yield* Effect.tryPromise({
      try: () => realpath(source),
      catch: (error) =>
        new FileSyncError({
          reason: "InvalidSource",
          message: errorCode(error) === "ENOENT"
            ? `source path does not exist: ${source}`
            : `cannot resolve the source ${source}: ${errorCode(error)}`
        })
    })
    const info = yield* Effect.tryPromise({
      try: () => stat(root),
      catch: (error) => new FileSyncError({ reason: "InvalidSource", message: `cannot read the source ${root}: ${errorCode(error)}` })
    })
    if (!info.isDirectory()) {
      return yield* new FileSyncError({
        reason: "InvalidSource",
        message: `source is not a directory: ${root}. contree_rsync syncs directories; upload a single file with contree_upload.`
      })
    }
    return root
  })

/** A file edited while the sync read it: the same failure as an upload whose content changed (see uploadDeduplicatedWith). */
const contentChanged = (path: string) =>
  new ContreeApiError({ reason: "Conflict", message: `${path} changed while it was synced; try again` })

/** The file sync over an already provided `SqlClient` and `ContreeClient`. */
export const makeFileSync = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const client = yield* ContreeClient
  const hostFiles = Option.getOrUndefined(yield* Effect.serviceOption(HostFileStore))
  yield* prepareDatabase(migrations)

  // Syncs of one state run one at a time; different states may sync concurrently.
  const locks = new Map<string, Effect.Semaphore>()
  const lockFor = (key: string) => {
    let lock = locks.get(key)
    if (lock === undefined) locks.set(key, lock = Effect.unsafeMakeSemaphore(1))
    return lock
  }

  // The recorded files of recently synced states, so that a resync need not read 10,000 rows
  // (20 ms of the 150 ms budget). Every write bumps the state's `version`, and the copy is used
  // only while the versions match, so another process sharing the database is noticed. The
  // content facts (uuid, verified_at) in a copy may lag behind a sync of another state with the
  // same content; the worst that does is one needless revalidation or hash lookup.
  const recorded = new RecentMap<number, { readonly version: number; readonly files: Map<string, Recorded> }>(MAX_REMEMBERED_STATES)

  // Raw rows: building 10,000 row objects costs three times as much as the arrays.
  const loadRecorded = (stateId: number) =>
    sql`SELECT f.path, f.size, f.mtime_ns, f.ino, f.mode, f.racy, f.sha256, b.uuid, b.verified_at
      FROM sync_file f LEFT JOIN sync_blob b ON b.sha256 = f.sha256 WHERE f.state_id = ${stateId}`.values.pipe(
      Effect.map((rows) => {
        const files = new Map<string, Recorded>()
        for (const [path, size, mtimeNs, ino, mode, racy, sha256, uuid, verifiedAt] of rows) {
          files.set(String(path), {
            size: Number(size),
            mtimeNs: String(mtimeNs),
            ino: String(ino),
            mode: Number(mode),
            racy: racy !== 0,
            sha256: String(sha256),
            uuid: uuid === null || uuid === undefined ? null : String(uuid),
            verifiedAt: verifiedAt === null || verifiedAt === undefined ? null : Number(verifiedAt)
          })
        }
        return files
      }),
      Effect.mapError(storage("read the synced files"))
    )

  const loadBlobs = (shas: ReadonlyArray<string>) =>
    Effect.forEach(chunks(shas), (chunk) => sql`SELECT sha256, uuid, size, verified_at FROM sync_blob WHERE ${sql.in("sha256", chunk)}`.pipe(Effect.flatMap(decodeRows(BlobRow))))
      .pipe(Effect.map((rows) => rows.flat()), Effect.mapError(storage("read the known uploads")))

  const syncLocked = (request: SyncRequest, root: string, destination: string, exclude: ReadonlyArray<string>, key: string) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // File times are wall-clock times, whatever clock the Effect runtime uses.
      const racyAfterNs = BigInt(Date.now() - RACY_WINDOW_MS) * 1_000_000n

      const [state] = yield* sql`SELECT id, version FROM sync_state WHERE sync_key = ${key}`.pipe(
        Effect.flatMap(decodeRows(StateRow)),
        Effect.mapError(storage("read the directory states"))
      )
      const cached = state === undefined ? undefined : recorded.get(state.id)
      const previous = state === undefined
        ? new Map<string, Recorded>()
        : cached !== undefined && cached.version === state.version
        ? cached.files
        : yield* loadRecorded(state.id)

      const tally = yield* progressTally(request.onProgress)
      const walk = yield* Effect.tryPromise({
        try: (signal) => walkTree(root, { exclude, gitignore: request.gitignore, signal, onFile: tally.walkedFile }),
        catch: (error) => new FileSyncError({ reason: "InvalidSource", message: `cannot read the source ${root}: ${errorCode(error)}` })
      }).pipe(Effect.withSpan("FileSync.walk"))
      const skipped: Array<SkippedEntry> = walk.skipped

      // Unchanged fingerprints keep their content; everything else is hashed.
      const unchanged: Array<{ readonly file: WalkedFile; readonly was: Recorded }> = []
      const toHash: Array<WalkedFile> = []
      for (const file of walk.files) {
        const was = previous.get(file.rel)
        const same = was !== undefined && !was.racy && was.uuid !== null && was.size === file.size &&
          was.mode === file.mode && was.mtimeNs === file.mtimeNs.toString() && was.ino === file.ino.toString()
        if (same) unchanged.push({ file, was })
        else toHash.push(file)
      }
      yield* tally.walked(toHash, hostFiles !== undefined)

      const hashStarted = performance.now()
      const hashed: Array<{ readonly file: WalkedFile; readonly sha256: string; readonly size: number }> = []
      const unreadable = (file: WalkedFile, error: unknown) => {
        const code = errorCode(error)
        skipped.push({ path: file.rel, reason: code === "ENOENT" ? "vanished" : "unreadable", detail: code })
      }
      // What this sync learned of the server's contents, written to sync_blob in its transaction.
      const learned = new Map<string, KnownUpload>()
      const uploaded = { files: 0, bytes: 0 }
      if (hostFiles !== undefined && toHash.length > 0) {
        // The local engine is on this machine: it reads each file once, hashing and storing it in
        // one pass and one transaction. No separate hashing, no lookup, no upload per file.
        const results = yield* hostFiles.store(toHash.map((file) => ({ path: file.abs, size: file.size, mtimeNs: file.mtimeNs })), tally.stored)
          .pipe(Effect.withSpan("FileSync.store"))
        for (const [i, result] of results.entries()) {
          const file = toHash[i]!
          if (result._tag === "Unreadable") unreadable(file, result.error)
          else if (result._tag === "Changed") return yield* Effect.fail(contentChanged(file.abs))
          else {
            hashed.push({ file, sha256: result.file.sha256, size: result.file.size })
            if (!learned.has(result.file.sha256) && result.isNew) {
              uploaded.files++
              uploaded.bytes += result.file.size
            }
            learned.set(result.file.sha256, { uuid: result.file.uuid, sha256: result.file.sha256, size: result.file.size, verifiedAt: now })
          }
        }
      } else if (hostFiles === undefined) {
        const hashResults = yield* Effect.forEach(
          toHash,
          (file) => sha256File(file.abs, file.size).pipe(Effect.either, Effect.tap(() => tally.hashedFile(file.size)), Effect.map((result) => ({ file, result }))),
          { concurrency: HASH_CONCURRENCY }
        ).pipe(Effect.withSpan("FileSync.hash"))
        for (const { file, result } of hashResults) {
          if (Either.isRight(result)) hashed.push({ file, sha256: result.right.sha256, size: result.right.size })
          else unreadable(file, result.left)
        }
      }
      const hashMillis = performance.now() - hashStarted

      // What the server must have: each new content once, and each content last confirmed over 24 h ago.
      const known = new Map<string, KnownUpload>()
      for (const { was } of unchanged) {
        known.set(was.sha256, { uuid: was.uuid!, sha256: was.sha256, size: was.size, verifiedAt: was.verifiedAt ?? 0 })
      }
      const newShas = [...new Set(hashed.map((h) => h.sha256))].filter((sha) => !known.has(sha) && !learned.has(sha))
      for (const blob of yield* loadBlobs(newShas)) {
        known.set(blob.sha256, { uuid: blob.uuid, sha256: blob.sha256, size: blob.size, verifiedAt: blob.verified_at })
      }
      const wanted = new Map<string, { readonly path: string; readonly size: number }>()
      for (const h of hashed) if (!wanted.has(h.sha256) && !learned.has(h.sha256)) wanted.set(h.sha256, { path: h.file.abs, size: h.size })
      for (const { file, was } of unchanged) {
        if (now - (was.verifiedAt ?? 0) >= REVALIDATE_AFTER_MS && !wanted.has(was.sha256) && !learned.has(was.sha256)) {
          wanted.set(was.sha256, { path: file.abs, size: was.size })
        }
      }
      const revalidated = [...wanted.keys()].filter((sha) => {
        const fact = known.get(sha)
        return fact !== undefined && now - fact.verifiedAt >= REVALIDATE_AFTER_MS
      }).length

      yield* tally.toUpload(wanted.values())
      const upload = uploadDeduplicatedWith(client, {
        get: (sha256) => Effect.sync(() => Option.fromNullable(known.get(sha256))),
        put: (fact) => Effect.sync(() => void learned.set(fact.sha256, fact))
      })
      const outcomes = yield* Effect.forEach(
        wanted,
        ([sha256, { path, size }]) => Effect.tap(upload({ _tag: "File", path, size }, sha256, size), () => tally.uploadedFile(size)),
        { concurrency: UPLOAD_CONCURRENCY }
      ).pipe(Effect.withSpan("FileSync.upload"))
      for (const o of outcomes) {
        if (o.outcome === "uploaded") {
          uploaded.files++
          uploaded.bytes += o.size
        }
      }
      yield* tally.done

      // The new file set. Rows are written only for files that were hashed, and for deletions.
      const kept = new Set<string>()
      for (const { file } of unchanged) kept.add(file.rel)
      for (const { file } of hashed) kept.add(file.rel)
      const removed = [...previous.keys()].filter((path) => !kept.has(path))
      const record = (stateId: number) =>
        Effect.gen(function*() {
          const blobRows = [...learned.values()].map((fact) => ({
            sha256: fact.sha256,
            uuid: fact.uuid,
            size: fact.size,
            verified_at: fact.verifiedAt
          }))
          for (const chunk of chunks(blobRows)) {
            yield* sql`INSERT INTO sync_blob ${sql.insert(chunk)} ON CONFLICT(sha256) DO UPDATE SET
              uuid = excluded.uuid, size = excluded.size, verified_at = excluded.verified_at`
          }
          for (const chunk of chunks(removed)) yield* sql`DELETE FROM sync_file WHERE state_id = ${stateId} AND ${sql.in("path", chunk)}`
          const fileRows = hashed.map(({ file, sha256 }) => ({
            state_id: stateId,
            path: file.rel,
            size: file.size,
            mtime_ns: file.mtimeNs.toString(),
            ino: file.ino.toString(),
            mode: file.mode,
            racy: file.mtimeNs >= racyAfterNs ? 1 : 0,
            sha256
          }))
          for (const chunk of chunks(fileRows)) yield* sql`INSERT OR REPLACE INTO sync_file ${sql.insert(chunk)}`
          const [bumped] = yield* sql`UPDATE sync_state SET synced_at = ${now}, version = version + 1
            WHERE id = ${stateId} RETURNING version`.pipe(Effect.flatMap(decodeRows(Version)))
          return { id: stateId, version: bumped!.version }
        })
      const insertState = sql`INSERT INTO sync_state ${
        sql.insert({
          sync_key: key,
          source: root,
          destination,
          exclude: JSON.stringify(exclude),
          gitignore: request.gitignore ? 1 : 0,
          created_at: now,
          synced_at: now,
          version: 0
        })
      } RETURNING id`.pipe(Effect.flatMap(decodeRows(Id)))
      // An unchanged resync writes nothing at all.
      const unchangedResync = state !== undefined && learned.size === 0 && removed.length === 0 && hashed.length === 0
      const written = unchangedResync ? { id: state.id, version: state.version } : yield* sql.withTransaction(
        state !== undefined ? record(state.id) : Effect.flatMap(insertState, ([row]) => record(row!.id))
      ).pipe(
        // Once it is in (or not): a read between the two would otherwise keep the old rows under the new mark.
        Effect.ensuring(Effect.sync(() => localWrites++)),
        Effect.tapError(() => Effect.sync(() => state !== undefined && recorded.delete(state.id))),
        Effect.mapError(storage("record the sync")),
        Effect.withSpan("FileSync.record")
      )

      // Bring the remembered copy up to date with what was just written.
      const files = previous
      for (const path of removed) files.delete(path)
      for (const { file, sha256 } of hashed) {
        const fact = learned.get(sha256) ?? known.get(sha256)
        files.set(file.rel, {
          size: file.size,
          mtimeNs: file.mtimeNs.toString(),
          ino: file.ino.toString(),
          mode: file.mode,
          racy: file.mtimeNs >= racyAfterNs,
          sha256,
          uuid: fact?.uuid ?? null,
          verifiedAt: fact?.verifiedAt ?? null
        })
      }
      if (learned.size > 0) {
        for (const [path, was] of files) {
          const fact = learned.get(was.sha256)
          if (fact !== undefined && fact.verifiedAt !== was.verifiedAt) files.set(path, { ...was, uuid: fact.uuid, verifiedAt: fact.verifiedAt })
        }
      }
      recorded.set(written.id, { version: written.version, files })

      return {
        directoryStateId: written.id,
        source: root,
        destination,
        files: kept.size,
        bytes: unchanged.reduce((sum, u) => sum + u.file.size, 0) + hashed.reduce((sum, h) => sum + h.size, 0),
        hashed: hashed.length,
        hashedBytes: hashed.reduce((sum, h) => sum + h.size, 0),
        hashMillis,
        uploaded: uploaded.files,
        uploadedBytes: uploaded.bytes,
        reused: kept.size - uploaded.files,
        revalidated,
        removed: removed.length,
        skipped
      } satisfies SyncResult
    })

  const sync = Effect.fn("FileSync.sync")(function*(request: SyncRequest) {
    const root = yield* resolveSource(request.source)
    if (!request.destination.startsWith("/")) {
      return yield* new FileSyncError({
        reason: "InvalidDestination",
        message: `destination must be an absolute path in the sandbox, got: ${request.destination}`
      })
    }
    const destination = normaliseDestination(request.destination)
    const exclude = [...new Set(request.exclude.filter((pattern) => pattern.trim() !== ""))].sort()
    const key = JSON.stringify({ source: root, destination, exclude, gitignore: request.gitignore })
    return yield* lockFor(key).withPermits(1)(Effect.scoped(syncLocked(request, root, destination, exclude, key)))
  })

  // Every run with a state reads its files: the last answer is kept while nothing was written
  // since, here (`localWrites`) or by another process (SQLite's data_version). A state's own
  // version is not enough: a sync of another state may re-upload shared content under a new uuid.
  const placed = new RecentMap<number, { readonly written: string; readonly files: ReadonlyArray<SyncedFile> }>(MAX_REMEMBERED_STATES)
  let localWrites = 0
  const writtenMark = sql`PRAGMA data_version`.values.pipe(
    Effect.map((rows) => `${rows[0]?.[0]}:${localWrites}`),
    Effect.mapError(storage("read the database's version"))
  )

  const files = Effect.fn("FileSync.files")(function*(directoryStateId: number) {
    const written = yield* writtenMark
    const known = placed.get(directoryStateId)
    if (known !== undefined && known.written === written) return known.files
    const [state] = yield* sql`SELECT destination FROM sync_state WHERE id = ${directoryStateId}`.pipe(
      Effect.flatMap(decodeRows(Destination)),
      Effect.mapError(storage("read the directory states"))
    )
    if (state === undefined) {
      return yield* new FileSyncError({ reason: "UnknownState", message: `directory_state_id ${directoryStateId} is unknown` })
    }
    // Raw rows, as loadRecorded reads them.
    const rows = yield* sql`SELECT f.path, f.mode, b.uuid
      FROM sync_file f JOIN sync_blob b ON b.sha256 = f.sha256 WHERE f.state_id = ${directoryStateId} ORDER BY f.path`.values.pipe(
      Effect.mapError(storage("read the synced files"))
    )
    const synced = rows.map(([path, mode, uuid]) => ({ path: targetPath(state.destination, String(path)), uuid: String(uuid), mode: octalMode(Number(mode)) }))
    placed.set(directoryStateId, { written, files: synced })
    return synced
  })

  return FileSync.of({ sync, files })
})

/**
 * The file sync with its database at `filename` (`:memory:` for a throwaway one); parent
 * directories are created. Any failure to open it is a FileSyncError, so callers can fall back.
 */
export const FileSyncSqlite = (filename: string): Layer.Layer<FileSync, FileSyncError, ContreeClient> =>
  sqliteService(
    FileSync,
    filename,
    makeFileSync,
    (cause) => new FileSyncError({ reason: "Storage", message: `cannot open the file-sync database at ${filename}`, cause })
  )
