import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Effect, Layer, Option, Stream } from "effect"
import { createReadStream } from "node:fs"
import { readFile } from "node:fs/promises"
import { type Call, endpointRequest, type EndpointInput, successSchema } from "../api/ApiRequest.js"
import { FileLookupAnswer, filesOfAnswer } from "../api/ApiSchemas.js"
import type * as ContreeApiModule from "../api/ContreeApi.js"
import { idFromLocation } from "../api/HandWrittenRoutes.js"
import { isLoopbackHost, parseLocalImportUrl } from "../domain/RegistryUrl.js"
import { DirectoryListing } from "../domain/Inspect.js"
import { operationListItems } from "../domain/Operation.js"
import { ContreeClient, type UploadBody } from "../services/ContreeClient.js"
import type { ContreeConfig } from "../services/ContreeConfig.js"
import type { ContreeApiError } from "../services/ContreeError.js"
import { makeContreeHttp } from "./ContreeHttp.js"
import { makeFileLookup, uploadedFile } from "./FileLookupHttp.js"

/**
 * The cloud backend: ConTree REST API v1 over HTTP. Each request (method, path, query string, JSON
 * body) and each decoder comes from an endpoint of `ContreeApi` (see `ApiRequest` for why not
 * `HttpApiClient`); `send` (`ContreeHttp`) keeps the retry, timeout and error policy around them.
 */
const makeClientWith = (Api: typeof ContreeApiModule) => Effect.gen(function*() {
  const transport = yield* makeContreeHttp
  const { config, fail, send, decode, callJson, streamed, exists } = transport
  const files = yield* makeFileLookup(transport, Api)

  const readBytes = (call: Call) => (response: HttpClientResponse.HttpClientResponse) =>
    response.arrayBuffer.pipe(
      Effect.map((buffer) => new Uint8Array(buffer)),
      Effect.mapError((error) => fail(call, "Transport", `download interrupted: ${error.message}`))
    )

  const ignoreBody = () => Effect.void

  /** The operation id of a spawn or import: the body's uuid, else the last segment of Location. */
  const createOperation = <E extends typeof Api.spawnInstance | typeof Api.importImage>(endpoint: E, input: EndpointInput<E>) => {
    const { call, request } = endpointRequest(endpoint, input)
    return send(call, HttpClientRequest.acceptJson(request), (response) =>
      decode(call, successSchema(endpoint))(response).pipe(
        Effect.flatMap(({ uuid }) => {
          const id = uuid !== "" ? uuid : idFromLocation(response.headers["location"])
          return id !== "" ? Effect.succeed(id) : Effect.fail(fail(call, "Decode", "the ConTree API returned no operation id", response.status))
        })
      ))
  }

  // A small file is read and sent in one piece: a streamed body costs almost twice as much per
  // request (measured against the fake API on loopback, 8 at a time: 3.4 ms against 1.9 ms), which
  // dominates a sync of many small files. Larger files are streamed: memory stays bounded by this size.
  const SMALL_UPLOAD = 256 * 1024
  const unreadable = (path: string) => (cause: unknown) =>
    fail({ method: "POST", path: Api.uploadFile.path }, "InvalidRequest", `cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`)

  const uploadRequest = (
    post: HttpClientRequest.HttpClientRequest,
    body: UploadBody
  ): Effect.Effect<HttpClientRequest.HttpClientRequest, ContreeApiError> => {
    const request = HttpClientRequest.acceptJson(post)
    if (body._tag === "Bytes") return Effect.succeed(HttpClientRequest.bodyUint8Array(request, body.bytes, "application/octet-stream"))
    if (body.size <= SMALL_UPLOAD) {
      return Effect.tryPromise({ try: () => readFile(body.path), catch: unreadable(body.path) }).pipe(
        Effect.map((bytes) => HttpClientRequest.bodyUint8Array(request, bytes, "application/octet-stream"))
      )
    }
    // Suspended, so that every attempt (a retry after 429, say) reads the file from its start again.
    return Effect.succeed(HttpClientRequest.bodyStream(
      request,
      Stream.suspend(() =>
        Stream.fromAsyncIterable(createReadStream(body.path), unreadable(body.path)).pipe(Stream.map((chunk) => chunk as Uint8Array))
      ),
      { contentType: "application/octet-stream", contentLength: body.size }
    ))
  }

  // A server on loopback (`contree-mcp serve`) shares this machine, so a file path names the same file there.
  const sameMachine = isLoopbackHost(new URL(config.url).host)

  return ContreeClient.of({
    listImages: (q) =>
      callJson(Api.listImages, {
        urlParams: { limit: q.limit, offset: q.offset, tagged: q.tagged, tag: q.tagPrefix, since: q.since, until: q.until }
      }).pipe(Effect.map((list) => list.images)),
    importImage: (request) =>
      Option.isSome(parseLocalImportUrl(request.registry.url)) && !sameMachine
        ? Effect.fail(fail(
          { method: "POST", path: Api.importImage.path },
          "InvalidRequest",
          `'${request.registry.url}' is a file on this machine, which only the local backend (--backend local) ` +
            "or a contree-mcp serve on this machine can import; ConTree cloud imports from registries"
        ))
        : createOperation(Api.importImage, { payload: request }),
    tagImage: (uuid, tag) => callJson(Api.tagImage, { path: { uuid }, payload: { tag } }),
    untagImage: (uuid) => {
      const { call, request } = endpointRequest(Api.untagImage, { path: { uuid }, urlParams: {} })
      return send(call, request, ignoreBody)
    },
    // Answered with a redirect to `/inspect/{uuid}/`, which fetch follows: the answer is `getImage`'s.
    resolveTag: (tag) => callJson(Api.resolveTag, { urlParams: { tag } }, successSchema(Api.getImage)),
    getImage: (uuid) => callJson(Api.getImage, { path: { uuid } }),
    listDirectory: (uuid, path) => callJson(Api.listDirectory, { path: { uuid }, urlParams: { path } }, DirectoryListing),
    listDirectoryText: (uuid, path) => {
      const { call, request } = endpointRequest(Api.listDirectory, { path: { uuid }, urlParams: { path, text: "" } })
      return send(call, request, (r) => r.text.pipe(Effect.mapError((e) => fail(call, "Transport", `listing interrupted: ${e.message}`))))
    },
    readFile: (uuid, path) => {
      const { call, request } = endpointRequest(Api.downloadFile, { path: { uuid }, urlParams: { path } })
      return send(call, request, readBytes(call))
    },
    downloadFile: (uuid, path) => streamed(endpointRequest(Api.downloadFile, { path: { uuid }, urlParams: { path } })),
    fileExists: (uuid, path) => exists(Api.downloadExists, { path: { uuid }, urlParams: { path } }),
    uploadFile: (body) => {
      const { call, request } = endpointRequest(Api.uploadFile, {})
      // `FileResponse`, or the same in a `{"file": …}`/`{"files": [...]}` envelope, as newer clients accept.
      return Effect.flatMap(uploadRequest(request, body), (upload) =>
        send(call, upload, (response) =>
          decode(call, FileLookupAnswer)(response).pipe(
            Effect.flatMap((answer) =>
              Option.match(Option.fromNullable(filesOfAnswer(answer)[0]), {
                onNone: () => Effect.fail(fail(call, "Decode", "the ConTree API answered the upload with no file", response.status)),
                onSome: (file) => Effect.succeed(uploadedFile(file))
              })
            )
          )))
    },
    // By path on the current generation, by query on the older one (`FileLookupHttp`).
    findFileByHash: files.findFileByHash,
    fileHashExists: files.fileHashExists,
    fileUuidExists: files.fileUuidExists,
    // A per-run network choice is the current generation's `networking.enabled`; left out, the server decides.
    spawnInstance: (request, options) =>
      createOperation(Api.spawnInstance, {
        payload: options?.network === undefined ? request : { ...request, networking: { enabled: options.network } }
      }),
    listOperations: (q) =>
      callJson(Api.listOperations, {
        urlParams: { limit: q.limit, offset: q.offset, status: q.status, kind: q.kind, since: q.since, until: q.until }
      }).pipe(Effect.map(operationListItems)),
    getOperation: (uuid) => callJson(Api.getOperation, { path: { uuid }, urlParams: {} }),
    cancelOperation: (uuid) => {
      const { call, request } = endpointRequest(Api.cancelOperation, { path: { uuid } })
      return send(call, request, (r) => Effect.succeed(r.status !== 409), (s) => s < 300 || s === 409)
    },
    whoami: callJson(Api.whoami, {}),
    grep: (uuid, q) =>
      callJson(Api.grepImage, {
        path: { uuid },
        urlParams: {
          pattern: q.patterns,
          ...(q.paths.length === 0 ? {} : { path: q.paths }),
          ...(q.globs.length === 0 ? {} : { glob: q.globs }),
          max_count: q.maxCount,
          max_total: q.maxTotal,
          case: q.case,
          before: q.before,
          after: q.after
        }
      }),
    downloadArchive: (uuid, path) => streamed(endpointRequest(Api.downloadArchive, { path: { uuid }, urlParams: { path } }))
  })
})

/** Every call waits for the client `real` makes, once. */
const deferred = (real: Effect.Effect<ContreeClient["Type"]>): ContreeClient["Type"] => {
  const on = <A, E>(f: (client: ContreeClient["Type"]) => Effect.Effect<A, E>) => Effect.flatMap(real, f)
  const stream = <A, E>(f: (client: ContreeClient["Type"]) => Stream.Stream<A, E>) => Stream.unwrap(Effect.map(real, f))
  return ContreeClient.of({
    listImages: (q) => on((c) => c.listImages(q)),
    importImage: (r) => on((c) => c.importImage(r)),
    tagImage: (uuid, tag) => on((c) => c.tagImage(uuid, tag)),
    untagImage: (uuid) => on((c) => c.untagImage(uuid)),
    resolveTag: (tag) => on((c) => c.resolveTag(tag)),
    getImage: (uuid) => on((c) => c.getImage(uuid)),
    listDirectory: (uuid, path) => on((c) => c.listDirectory(uuid, path)),
    listDirectoryText: (uuid, path) => on((c) => c.listDirectoryText(uuid, path)),
    readFile: (uuid, path) => on((c) => c.readFile(uuid, path)),
    downloadFile: (uuid, path) => stream((c) => c.downloadFile(uuid, path)),
    fileExists: (uuid, path) => on((c) => c.fileExists(uuid, path)),
    uploadFile: (body) => on((c) => c.uploadFile(body)),
    findFileByHash: (sha256) => on((c) => c.findFileByHash(sha256)),
    fileHashExists: (sha256) => on((c) => c.fileHashExists(sha256)),
    fileUuidExists: (uuid) => on((c) => c.fileUuidExists(uuid)),
    spawnInstance: (request, options) => on((c) => c.spawnInstance(request, options)),
    listOperations: (q) => on((c) => c.listOperations(q)),
    getOperation: (uuid) => on((c) => c.getOperation(uuid)),
    cancelOperation: (uuid) => on((c) => c.cancelOperation(uuid)),
    whoami: on((c) => c.whoami),
    grep: (uuid, q) => on((c) => c.grep(uuid, q)),
    downloadArchive: (uuid, path) => stream((c) => c.downloadArchive(uuid, path))
  })
}

/**
 * The cloud client, built on its first call: the API definition (`HttpApi` and its schemas) takes
 * about 10 ms to load, which the MCP server would otherwise pay at every start before it can
 * answer `initialize`, though no request is needed until a tool runs.
 */
export const makeContreeClientHttp = Effect.gen(function*() {
  const context = yield* Effect.context<HttpClient.HttpClient | ContreeConfig>()
  const real = yield* Effect.cached(
    Effect.promise(() => import("../api/ContreeApi.js")).pipe(Effect.flatMap(makeClientWith), Effect.provide(context))
  )
  return deferred(real)
})

export const ContreeClientLive: Layer.Layer<ContreeClient, never, HttpClient.HttpClient | ContreeConfig> = Layer.effect(
  ContreeClient,
  makeContreeClientHttp
)
