import { Context, type Effect, type Option, type Stream } from "effect"
import type { Image } from "../domain/Image.js"
import type { DirectoryListing, UploadedFile } from "../domain/Inspect.js"
import type { SpawnRequest } from "../domain/Instance.js"
import type { ImportRequest, Operation, OperationKind, OperationStatus, OperationSummary } from "../domain/Operation.js"
import type { GrepResult } from "../api/ApiSchemas.js"
import type { ContreeApiError } from "./ContreeError.js"

export interface ListImagesQuery {
  readonly limit: number
  readonly offset: number
  readonly tagged?: boolean | undefined
  readonly tagPrefix?: string | undefined
  readonly since?: string | undefined
  readonly until?: string | undefined
}

export interface ListOperationsQuery {
  readonly limit: number
  readonly offset: number
  readonly status?: OperationStatus | undefined
  readonly kind?: OperationKind | undefined
  readonly since?: string | undefined
  readonly until?: string | undefined
}

/** How `contree_grep` searches an image's files (`GET /inspect/{uuid}/grep`). */
export interface GrepQuery {
  /** Rust-regex patterns; a line matching any of them is a match. */
  readonly patterns: ReadonlyArray<string>
  /** Absolute paths (files or directories) to search; `/` when empty. */
  readonly paths: ReadonlyArray<string>
  /** Globs over the paths searched; a leading `!` excludes. */
  readonly globs: ReadonlyArray<string>
  /** Matches kept per file; no cap when undefined. */
  readonly maxCount?: number | undefined
  /** Matches kept in all; more set `truncated`. */
  readonly maxTotal: number
  readonly case: "sensitive" | "insensitive" | "smart"
  /** Context lines before and after each match. */
  readonly before: number
  readonly after: number
}

/** Bytes to upload: in memory, or streamed (never both read whole and streamed). */
export type UploadBody =
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "File"; readonly path: string; readonly size: number }

/** What a run asks beyond the cloud's `POST /instances` body. */
export interface SpawnOptions {
  /**
   * Outbound network access: the local backend grants it as its network setting allows; undefined
   * leaves it to that setting. The cloud backend sends it as `networking.enabled` (current
   * generation; undefined sends nothing, and the server's default applies).
   */
  readonly network?: boolean | undefined
}

/**
 * The ConTree REST API v1, one method per endpoint. Implementations: the cloud HTTP client
 * (`ContreeClientLive`) and, later, the embedded local engine. Every method fails only with
 * `ContreeApiError`.
 */
export class ContreeClient extends Context.Tag("contree/ContreeClient")<ContreeClient, {
  readonly listImages: (query: ListImagesQuery) => Effect.Effect<ReadonlyArray<Image>, ContreeApiError>
  readonly importImage: (request: ImportRequest) => Effect.Effect<string, ContreeApiError>
  readonly tagImage: (uuid: string, tag: string) => Effect.Effect<Image, ContreeApiError>
  readonly untagImage: (uuid: string) => Effect.Effect<void, ContreeApiError>
  readonly resolveTag: (tag: string) => Effect.Effect<Image, ContreeApiError>
  readonly getImage: (uuid: string) => Effect.Effect<Image, ContreeApiError>
  readonly listDirectory: (uuid: string, path: string) => Effect.Effect<DirectoryListing, ContreeApiError>
  readonly listDirectoryText: (uuid: string, path: string) => Effect.Effect<string, ContreeApiError>
  readonly readFile: (uuid: string, path: string) => Effect.Effect<Uint8Array, ContreeApiError>
  readonly downloadFile: (uuid: string, path: string) => Stream.Stream<Uint8Array, ContreeApiError>
  readonly fileExists: (uuid: string, path: string) => Effect.Effect<boolean, ContreeApiError>
  readonly uploadFile: (body: UploadBody) => Effect.Effect<UploadedFile, ContreeApiError>
  /** The upload with this content, if the server has it (cloud: by path, `/files/{sha256}`, or the older query). */
  readonly findFileByHash: (sha256: string) => Effect.Effect<Option.Option<UploadedFile>, ContreeApiError>
  readonly fileHashExists: (sha256: string) => Effect.Effect<boolean, ContreeApiError>
  /**
   * Whether the upload `uuid` is still there. `false` also means "cannot be confirmed": the
   * current generation looks files up by hash only, so callers re-check by hash then.
   */
  readonly fileUuidExists: (uuid: string) => Effect.Effect<boolean, ContreeApiError>
  readonly spawnInstance: (request: SpawnRequest, options?: SpawnOptions) => Effect.Effect<string, ContreeApiError>
  readonly listOperations: (query: ListOperationsQuery) => Effect.Effect<ReadonlyArray<OperationSummary>, ContreeApiError>
  readonly getOperation: (uuid: string) => Effect.Effect<Operation, ContreeApiError>
  /** Asks the server to cancel; `false` when it answered that the operation already ended (409). */
  readonly cancelOperation: (uuid: string) => Effect.Effect<boolean, ContreeApiError>
  /** What the token may do and the limits in force (cloud: `GET /whoami`; local: the engine's). */
  readonly whoami: Effect.Effect<Readonly<Record<string, unknown>>, ContreeApiError>
  /** Lines of an image's files matching patterns, without a sandbox; binary files and symlinks skipped. */
  readonly grep: (uuid: string, query: GrepQuery) => Effect.Effect<GrepResult, ContreeApiError>
  /** A directory of an image as a tar stream, member names relative to the root (`etc/hosts`). */
  readonly downloadArchive: (uuid: string, path: string) => Stream.Stream<Uint8Array, ContreeApiError>
}>() {}
