import { Effect, Layer, Option, Stream } from "effect"
import { LocalEngine } from "../local/LocalEngine.js"
import type { LocalEngineError, LocalErrorReason } from "../local/LocalEngineError.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { HostFileStore } from "../services/HostFileStore.js"
import { type ApiErrorReason, ContreeApiError } from "../services/ContreeError.js"

const clientReason: Record<LocalErrorReason, ApiErrorReason> = {
  InvalidRequest: "InvalidRequest",
  NotFound: "NotFound",
  Conflict: "Conflict",
  Unavailable: "Unavailable",
  Internal: "Server"
}

/** The one mapping of the engine's failures to the client's: in the engine's own words, with no HTTP request to name. */
export const fromEngine = (error: LocalEngineError): ContreeApiError =>
  new ContreeApiError({ reason: clientReason[error.reason], message: error.message })

/**
 * What `whoami` tells of the local engine, in process and through `contree-mcp serve`: the cloud's
 * WhoAmIResponse (vendor clients require `token_uuid`, `token_expiration` and `operations_stat`).
 */
export const localWhoami = (engine: LocalEngine["Type"]) =>
  Effect.map(engine.whoami, (identity) => ({ token_uuid: "local", token_expiration: null, backend: "local", ...identity }))

/** `ContreeClient` over the embedded local engine: real sandboxes on this machine, no token. */
export const makeContreeClientLocal = Effect.gen(function*() {
  const engine = yield* LocalEngine
  const mapped = <A>(effect: Effect.Effect<A, LocalEngineError>) => Effect.mapError(effect, fromEngine)
  return ContreeClient.of({
    listImages: (query) => mapped(engine.listImages(query)),
    importImage: (request) => mapped(engine.importImage(request)),
    tagImage: (uuid, tag) => mapped(engine.tagImage(uuid, tag)),
    untagImage: (uuid) => mapped(engine.untagImage(uuid)),
    resolveTag: (tag) => mapped(engine.resolveTag(tag)),
    getImage: (uuid) => mapped(engine.getImage(uuid)),
    listDirectory: (uuid, path) => mapped(engine.listDirectory(uuid, path)),
    listDirectoryText: (uuid, path) => mapped(engine.listDirectoryText(uuid, path)),
    readFile: (uuid, path) => mapped(engine.readFile(uuid, path)),
    downloadFile: (uuid, path) => Stream.mapError(engine.downloadFile(uuid, path), fromEngine),
    fileExists: (uuid, path) => mapped(engine.fileExists(uuid, path)),
    uploadFile: (body) => mapped(engine.uploadFile(body)),
    findFileByHash: (sha256) => mapped(engine.findFileByHash(sha256)),
    fileHashExists: (sha256) => mapped(Effect.map(engine.findFileByHash(sha256), Option.isSome)),
    fileUuidExists: (uuid) => mapped(Effect.map(engine.findFileByUuid(uuid), Option.isSome)),
    spawnInstance: (request, options) => mapped(engine.spawn(request, options)),
    listOperations: (query) => mapped(engine.listOperations(query)),
    getOperation: (uuid) => mapped(engine.getOperation(uuid)),
    cancelOperation: (uuid) => mapped(engine.cancelOperation(uuid)),
    whoami: mapped(localWhoami(engine)),
    grep: (uuid, query) => mapped(engine.grep(uuid, query)),
    downloadArchive: (uuid, path) => Stream.mapError(Stream.unwrap(engine.downloadArchive(uuid, path)), fromEngine)
  })
})

/** `ContreeClient` answered by a `LocalEngine` (see `LocalEngineLive`), which the operation waiter may also use. */
export const ContreeClientLocal: Layer.Layer<ContreeClient, never, LocalEngine> = Layer.effect(ContreeClient, makeContreeClientLocal)

/** The local engine stores host files in bulk (contree_rsync); only the local backend provides this. */
export const HostFileStoreLocal: Layer.Layer<HostFileStore, never, LocalEngine> = Layer.effect(
  HostFileStore,
  Effect.map(LocalEngine, (engine) => HostFileStore.of({ store: (files, progress) => Effect.mapError(engine.storeHostFiles(files, progress), fromEngine) }))
)
