import { Context, type Effect } from "effect"
import type { ContreeApiError } from "./ContreeError.js"

/**
 * A file of this machine to store (contree_rsync on the local backend), with the size and mtime a
 * stat gave: a file found different after it was read was modified meanwhile, and is not stored.
 */
export interface HostFile {
  readonly path: string
  readonly size: number
  readonly mtimeNs: bigint
}

/** What became of a host file: its record (`isNew` when this call stored the bytes), the error that kept it out, or a change while it was read. */
export type HostFileResult =
  | { readonly _tag: "Stored"; readonly file: { readonly uuid: string; readonly sha256: string; readonly size: number }; readonly isNew: boolean }
  | { readonly _tag: "Unreadable"; readonly error: unknown }
  | { readonly _tag: "Changed" }

/** Reported per batch as host files are read and hashed, then as they are safe in the store (written and fsynced, or found there). */
export type HostFileProgress = (event: { readonly phase: "hashed" | "stored"; readonly files: number; readonly bytes: number }) => Effect.Effect<void>

/**
 * Where the backend is on this machine (the local engine): stores host files as uploads, reading
 * each once, deduplicated by content and recorded in one transaction; a result per file, in order.
 * contree_rsync uses it, when it is provided, instead of hashing, looking up and uploading file by
 * file. The cloud backend does not provide it.
 */
export class HostFileStore extends Context.Tag("contree/HostFileStore")<HostFileStore, {
  readonly store: (files: ReadonlyArray<HostFile>, progress?: HostFileProgress) => Effect.Effect<ReadonlyArray<HostFileResult>, ContreeApiError>
}>() {}
