import { Context, type Effect, type Option, type Stream } from "effect"
import type { Image } from "../domain/Image.js"
import type { DirectoryListing, UploadedFile } from "../domain/Inspect.js"
import type { SpawnRequest } from "../domain/Instance.js"
import type { ImportRequest, Operation, OperationKind, OperationStatus, OperationSummary } from "../domain/Operation.js"
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

/** Bytes to upload: in memory, or streamed (never both read whole and streamed). */
export type UploadBody =
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "File"; readonly path: string; readonly size: number }

/** What a run asks beyond the cloud's `POST /instances` body. */
export interface SpawnOptions {
  /**
   * Outbound network access: the local backend grants it as its network setting allows; undefined
   * leaves it to that setting. The cloud API has no such field, so the cloud backend refuses any value.
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
  readonly findFileByHash: (sha256: string) => Effect.Effect<Option.Option<UploadedFile>, ContreeApiError>
  readonly fileHashExists: (sha256: string) => Effect.Effect<boolean, ContreeApiError>
  readonly fileUuidExists: (uuid: string) => Effect.Effect<boolean, ContreeApiError>
  readonly spawnInstance: (request: SpawnRequest, options?: SpawnOptions) => Effect.Effect<string, ContreeApiError>
  readonly listOperations: (query: ListOperationsQuery) => Effect.Effect<ReadonlyArray<OperationSummary>, ContreeApiError>
  readonly getOperation: (uuid: string) => Effect.Effect<Operation, ContreeApiError>
  /** Asks the server to cancel; `false` when it answered that the operation already ended (409). */
  readonly cancelOperation: (uuid: string) => Effect.Effect<boolean, ContreeApiError>
  readonly whoami: Effect.Effect<Readonly<Record<string, unknown>>, ContreeApiError>
}>() {}
