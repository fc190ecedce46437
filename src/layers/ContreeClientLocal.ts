import { Effect, Layer, Option, Stream } from "effect"
import { LocalEngine } from "../local/LocalEngine.js"
import { httpStatus, type LocalEngineError } from "../local/LocalEngineError.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ContreeApiError, reasonForStatus } from "../services/ContreeError.js"

/** Each method named by the REST call it stands for: errors carry the same method and path as the cloud client's. */
const call = (method: string, path: string) => (error: LocalEngineError) => {
  const status = httpStatus[error.reason]
  return new ContreeApiError({ reason: reasonForStatus(status), status, message: error.message, method, path })
}

const seg = encodeURIComponent

/** What `whoami` tells of the local engine, in process and through `contree-mcp serve`. */
export const localWhoami = (engine: LocalEngine["Type"]) => ({
  backend: "local",
  permissions: { list: true, spawn: true, import: true },
  host: engine.describe
})

/** `ContreeClient` over the embedded local engine: real sandboxes on this machine, no token. */
export const makeContreeClientLocal = Effect.gen(function*() {
  const engine = yield* LocalEngine
  return ContreeClient.of({
    listImages: (query) => engine.listImages(query).pipe(Effect.mapError(call("GET", "/images"))),
    importImage: (request) => engine.importImage(request).pipe(Effect.mapError(call("POST", "/images/import"))),
    tagImage: (uuid, tag) => engine.tagImage(uuid, tag).pipe(Effect.mapError(call("PATCH", `/images/${seg(uuid)}/tag`))),
    untagImage: (uuid) => engine.untagImage(uuid).pipe(Effect.mapError(call("DELETE", `/images/${seg(uuid)}/tag`))),
    resolveTag: (tag) => engine.resolveTag(tag).pipe(Effect.mapError(call("GET", "/inspect/"))),
    getImage: (uuid) => engine.getImage(uuid).pipe(Effect.mapError(call("GET", `/inspect/${seg(uuid)}/`))),
    listDirectory: (uuid, path) => engine.listDirectory(uuid, path).pipe(Effect.mapError(call("GET", `/inspect/${seg(uuid)}/list`))),
    listDirectoryText: (uuid, path) =>
      engine.listDirectoryText(uuid, path).pipe(Effect.mapError(call("GET", `/inspect/${seg(uuid)}/list`))),
    readFile: (uuid, path) => engine.readFile(uuid, path).pipe(Effect.mapError(call("GET", `/inspect/${seg(uuid)}/download`))),
    downloadFile: (uuid, path) => engine.downloadFile(uuid, path).pipe(Stream.mapError(call("GET", `/inspect/${seg(uuid)}/download`))),
    fileExists: (uuid, path) => engine.fileExists(uuid, path).pipe(Effect.mapError(call("HEAD", `/inspect/${seg(uuid)}/download`))),
    uploadFile: (body) => engine.uploadFile(body).pipe(Effect.mapError(call("POST", "/files"))),
    findFileByHash: (sha256) => engine.findFileByHash(sha256).pipe(Effect.mapError(call("GET", "/files"))),
    fileHashExists: (sha256) => engine.findFileByHash(sha256).pipe(Effect.map(Option.isSome), Effect.mapError(call("HEAD", "/files"))),
    fileUuidExists: (uuid) => engine.findFileByUuid(uuid).pipe(Effect.map(Option.isSome), Effect.mapError(call("HEAD", "/files"))),
    spawnInstance: (request, options) => engine.spawn(request, options).pipe(Effect.mapError(call("POST", "/instances"))),
    listOperations: (query) => engine.listOperations(query).pipe(Effect.mapError(call("GET", "/operations"))),
    getOperation: (uuid) => engine.getOperation(uuid).pipe(Effect.mapError(call("GET", `/operations/${seg(uuid)}`))),
    cancelOperation: (uuid) => engine.cancelOperation(uuid).pipe(Effect.mapError(call("DELETE", `/operations/${seg(uuid)}`))),
    whoami: Effect.succeed(localWhoami(engine))
  })
})

/** `ContreeClient` answered by a `LocalEngine` (see `LocalEngineLive`), which the operation waiter may also use. */
export const ContreeClientLocal: Layer.Layer<ContreeClient, never, LocalEngine> = Layer.effect(ContreeClient, makeContreeClientLocal)
