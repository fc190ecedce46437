import { Context, type Effect, Schema } from "effect"
import type { ContreeApiError } from "./ContreeError.js"

/**
 * Why a sync or a state lookup failed: a source or destination the caller must fix, an id that
 * names no synced directory, or the local file-sync database.
 */
export class FileSyncError extends Schema.TaggedError<FileSyncError>()("FileSyncError", {
  reason: Schema.Literal("InvalidSource", "InvalidDestination", "UnknownState", "Storage"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export interface SyncRequest {
  /** Absolute local directory, `~` already expanded. Symlinks in the path itself are resolved. */
  readonly source: string
  /** Absolute directory in the sandbox; trailing slashes are ignored. */
  readonly destination: string
  /** Patterns with .gitignore semantics, relative to `source`; they override the .gitignore files. */
  readonly exclude: ReadonlyArray<string>
  /** Honour the .gitignore files found in the source tree. */
  readonly gitignore: boolean
  /** Called about every 250 ms while the sync works, at the end of each phase, and once at the end. */
  readonly onProgress?: ((progress: SyncProgress) => Effect.Effect<void>) | undefined
}

/** Files and their total size. */
export interface Tally {
  readonly files: number
  readonly bytes: number
}

/**
 * How far a sync has got: files found by the walk, read and hashed (new or changed), and made sure
 * of on the server (uploaded, or found there; locally: stored). The totals come once the walk knows
 * them; `toUpload` grows once hashing shows what the server lacks. Every figure only increases,
 * and the last report's totals are what was done.
 */
export interface SyncProgress {
  readonly walked: Tally
  readonly hashed: Tally
  readonly uploaded: Tally
  readonly total?: { readonly walked: Tally; readonly toHash: Tally; readonly toUpload: Tally } | undefined
}

/** Why an entry of the source was left out (excluded entries are not reported). */
export const SkipReason = Schema.Literal("symlink", "fifo", "socket", "device", "other", "unreadable", "vanished")
export type SkipReason = typeof SkipReason.Type

export interface SkippedEntry {
  /** Relative to the source; directories end with `/`. */
  readonly path: string
  readonly reason: SkipReason
  /** The system error for `unreadable` and `vanished`, e.g. `EACCES`. */
  readonly detail?: string
}

export interface SyncResult {
  /** Stable for the same source, destination, exclude set and gitignore flag. */
  readonly directoryStateId: number
  /** The resolved source directory. */
  readonly source: string
  /** The normalised destination directory. */
  readonly destination: string
  /** Files in the state after this sync, and their total size. */
  readonly files: number
  readonly bytes: number
  /** Files read and hashed this time (new, changed, or too fresh to trust their timestamps). */
  readonly hashed: number
  readonly hashedBytes: number
  /** Wall-clock milliseconds spent hashing (a diagnostic for benchmarks). */
  readonly hashMillis: number
  /** Files whose content was sent this time: one per distinct content. */
  readonly uploaded: number
  readonly uploadedBytes: number
  /** Files that needed no upload: unchanged, or content the server already had. */
  readonly reused: number
  /** Contents whose server copy was re-confirmed (or re-sent) because the last check was over 24 h ago. */
  readonly revalidated: number
  /** Files of the previous sync that are gone now (deleted, excluded or unreadable). */
  readonly removed: number
  readonly skipped: ReadonlyArray<SkippedEntry>
}

/** A synced file as `contree_run` places it: absolute sandbox path, server file uuid, four-digit octal mode. */
export interface SyncedFile {
  readonly path: string
  readonly uuid: string
  readonly mode: string
}

/**
 * Mirrors local directories onto the server as content-addressed files, remembering each sync as
 * a directory state whose integer id `contree_run` accepts. Unchanged files (same size, mtime,
 * inode and mode) are not re-read; only content the server lacks is uploaded.
 */
export class FileSync extends Context.Tag("contree/FileSync")<FileSync, {
  readonly sync: (request: SyncRequest) => Effect.Effect<SyncResult, FileSyncError | ContreeApiError>
  /** The files of a directory state; `UnknownState` when no sync produced `directoryStateId`. */
  readonly files: (directoryStateId: number) => Effect.Effect<ReadonlyArray<SyncedFile>, FileSyncError>
}>() {}
