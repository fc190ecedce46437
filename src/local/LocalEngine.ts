import { Context, type Effect, type Option, type Stream } from "effect"
import type { Image } from "../domain/Image.js"
import type { DirectoryListing, UploadedFile } from "../domain/Inspect.js"
import type { SpawnRequest } from "../domain/Instance.js"
import type { ImportRequest, Operation, OperationSummary } from "../domain/Operation.js"
import type { GrepResult } from "../api/ApiSchemas.js"
import type { HostFile, HostFileProgress, HostFileResult } from "../services/HostFileStore.js"
import type { GrepQuery, ListImagesQuery, ListOperationsQuery, SpawnOptions } from "../services/ContreeClient.js"
import type { LocalEngineError } from "./LocalEngineError.js"
import type { RunOutputChunk } from "./sandbox/RunOutput.js"
import type { EngineUpload } from "./store/BlobStore.js"

export type { EngineUpload } from "./store/BlobStore.js"

/** What `whoami` answers for the local engine: the cloud's WhoAmIResponse, as this machine's settings make it. */
export interface LocalIdentity {
  readonly permissions: Readonly<Record<string, boolean>>
  readonly limits: Readonly<Record<string, number>>
  readonly operations_stat: Readonly<Record<string, number>>
}

/**
 * Real sandboxes on this machine, with the cloud API's semantics: images are immutable stacks of
 * layer directories, a run is bubblewrap over overlayfs, operations queue and finish as in the
 * cloud. `ContreeClientLocal` adapts it to `ContreeClient`; `awaitOperation` lets the operation
 * waiter learn of an end at once instead of polling.
 */
export class LocalEngine extends Context.Tag("contree/LocalEngine")<LocalEngine, {
  readonly listImages: (query: ListImagesQuery) => Effect.Effect<ReadonlyArray<Image>, LocalEngineError>
  readonly getImage: (uuid: string) => Effect.Effect<Image, LocalEngineError>
  readonly resolveTag: (tag: string) => Effect.Effect<Image, LocalEngineError>
  readonly tagImage: (uuid: string, tag: string) => Effect.Effect<Image, LocalEngineError>
  readonly untagImage: (uuid: string) => Effect.Effect<void, LocalEngineError>
  readonly listDirectory: (uuid: string, path: string) => Effect.Effect<DirectoryListing, LocalEngineError>
  readonly listDirectoryText: (uuid: string, path: string) => Effect.Effect<string, LocalEngineError>
  readonly readFile: (uuid: string, path: string) => Effect.Effect<Uint8Array, LocalEngineError>
  readonly downloadFile: (uuid: string, path: string) => Stream.Stream<Uint8Array, LocalEngineError>
  readonly fileExists: (uuid: string, path: string) => Effect.Effect<boolean, LocalEngineError>
  /** `GET /inspect/{uuid}/grep`: ripgrep over the image's layers, as the cloud searches its rootfs. */
  readonly grep: (uuid: string, query: GrepQuery) => Effect.Effect<GrepResult, LocalEngineError>
  /** `GET /inspect/{uuid}/archive`: a directory as a tar stream; a missing or non-directory path fails before it starts. */
  readonly downloadArchive: (uuid: string, path: string) => Effect.Effect<Stream.Stream<Uint8Array, LocalEngineError>, LocalEngineError>
  readonly uploadFile: (body: EngineUpload) => Effect.Effect<UploadedFile, LocalEngineError>
  /** Files of this machine stored in one pass and one transaction (see `HostFileStore`). */
  readonly storeHostFiles: (files: ReadonlyArray<HostFile>, progress?: HostFileProgress) => Effect.Effect<ReadonlyArray<HostFileResult>, LocalEngineError>
  readonly findFileByHash: (sha256: string) => Effect.Effect<Option.Option<UploadedFile>, LocalEngineError>
  readonly findFileByUuid: (uuid: string) => Effect.Effect<Option.Option<UploadedFile>, LocalEngineError>
  /** Queues an import from a registry or a local layout or archive (`openSource`); the operation id comes back at once. */
  readonly importImage: (request: ImportRequest) => Effect.Effect<string, LocalEngineError>
  /** Bytes fetched of an import of this process as they grow; ends when the import does (at once for anything else). */
  readonly watchProgress: (uuid: string) => Stream.Stream<{ readonly done: number; readonly total: number }>
  /** A run's stdout and stderr as they come, while this process runs it (ends with it; at once for others). */
  readonly watchOutput: (uuid: string) => Stream.Stream<RunOutputChunk>
  /** Queues a run; the operation id comes back at once. `options.network` is checked against the network setting here. */
  readonly spawn: (request: SpawnRequest, options?: SpawnOptions) => Effect.Effect<string, LocalEngineError>
  readonly listOperations: (query: ListOperationsQuery) => Effect.Effect<ReadonlyArray<OperationSummary>, LocalEngineError>
  readonly getOperation: (uuid: string) => Effect.Effect<Operation, LocalEngineError>
  /** `false` when the operation had already ended. Returns once its sandbox is gone, without a trace left. */
  readonly cancelOperation: (uuid: string) => Effect.Effect<boolean, LocalEngineError>
  /** The operation once it is terminal, without polling when this process runs it. */
  readonly awaitOperation: (uuid: string) => Effect.Effect<Operation, LocalEngineError>
  /** Everything is permitted; the limits are the engine's settings; operations counted by status. */
  readonly whoami: Effect.Effect<LocalIdentity, LocalEngineError>
  /** Isolation, limits in force and resource accounting, one fact a line (`contree-mcp doctor`). */
  readonly describe: ReadonlyArray<string>
}>() {}
