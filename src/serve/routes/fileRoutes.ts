import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, Stream } from "effect"
import { ContreeApi } from "../../api/ContreeApi.js"
import type { UploadedFile } from "../../domain/Inspect.js"
import { invalidRequest, type LocalEngineError } from "../../local/LocalEngineError.js"
import { type ApiFailure, badRequest, notFound, withEngine } from "../ApiFailure.js"

const SHA256 = /^[0-9a-fA-F]{64}$/

const checkedHash = (sha256: string) =>
  SHA256.test(sha256) ? Effect.succeed(sha256) : Effect.fail(badRequest(`sha256 must be 64 hexadecimal digits; got ${JSON.stringify(sha256)}`))

/** The file a lookup names: `?sha256=` or `?uuid=` (spec §3.10–3.11). */
const lookup = (query: { readonly sha256?: string | undefined; readonly uuid?: string | undefined }) =>
  withEngine((engine): Effect.Effect<Option.Option<UploadedFile>, ApiFailure | LocalEngineError> =>
    Effect.gen(function*() {
      if (query.sha256 !== undefined) return yield* engine.findFileByHash(yield* checkedHash(query.sha256))
      if (query.uuid !== undefined) return yield* engine.findFileByUuid(query.uuid)
      // The newer API lists uploads here; this server keeps no listing, so it says what it does take.
      return yield* badRequest("sha256 or uuid is required: this server looks files up, it does not list them")
    }))

const byPathHash = (sha256: string) =>
  withEngine((engine) => Effect.flatMap(checkedHash(sha256), engine.findFileByHash))

const found = (file: Option.Option<UploadedFile>) =>
  Option.match(file, { onNone: () => Effect.fail(notFound("File not found")), onSome: Effect.succeed })

const exists = (file: Option.Option<UploadedFile>) => HttpServerResponse.empty({ status: Option.isSome(file) ? 200 : 404 })

/** `/files`: uploads streamed to the engine's store, and lookups by hash or uuid (spec §3.9–3.11). */
export const fileRoutes = HttpApiBuilder.group(ContreeApi, "files", (handlers) =>
  handlers
    // Raw: the body is streamed into the store's staging file while hashed, so memory stays bounded
    // whatever the size (the definition's `Bytes` payload would be read whole first).
    .handleRaw("uploadFile", ({ request }) =>
      withEngine((engine) => {
        const stream = request.stream.pipe(Stream.mapError((error) => invalidRequest(`the upload was cut off: ${error.message}`)))
        return engine.uploadFile({ _tag: "Stream", stream })
      }))
    .handle("fileLookupExists", ({ urlParams }) => Effect.map(lookup(urlParams), exists))
    .handle("listFiles", ({ urlParams }) => Effect.flatMap(lookup(urlParams), found))
    .handle("fileExists", ({ path }) => Effect.map(byPathHash(path.sha256), exists))
    .handle("getFile", ({ path }) => Effect.flatMap(byPathHash(path.sha256), found)))
