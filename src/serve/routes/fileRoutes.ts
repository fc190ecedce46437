import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import type { UploadedFile } from "../../domain/Inspect.js"
import { LocalEngine } from "../../local/LocalEngine.js"
import { invalidRequest, type LocalEngineError } from "../../local/LocalEngineError.js"
import { type ApiFailure, badRequest, notFound } from "../ApiFailure.js"
import { queryParams } from "../QueryParams.js"

const SHA256 = /^[0-9a-fA-F]{64}$/

const checkedHash = (sha256: string) =>
  SHA256.test(sha256) ? Effect.succeed(sha256) : Effect.fail(badRequest(`sha256 must be 64 hexadecimal digits; got ${JSON.stringify(sha256)}`))

/** The file a lookup names: `?sha256=` or `?uuid=` (spec §3.10–3.11). */
const lookup: Effect.Effect<Option.Option<UploadedFile>, ApiFailure | LocalEngineError, LocalEngine | HttpServerRequest.ParsedSearchParams> =
  Effect.gen(function*() {
    const engine = yield* LocalEngine
    const query = yield* queryParams
    const sha256 = query.get("sha256")
    if (sha256 !== undefined) return yield* engine.findFileByHash(yield* checkedHash(sha256))
    const uuid = query.get("uuid")
    if (uuid !== undefined) return yield* engine.findFileByUuid(uuid)
    // The newer API lists uploads here; this server keeps no listing, so it says what it does take.
    return yield* badRequest("sha256 or uuid is required: this server looks files up, it does not list them")
  })

const byPathHash = Effect.gen(function*() {
  const engine = yield* LocalEngine
  const { sha256 } = yield* HttpRouter.params
  return yield* engine.findFileByHash(yield* checkedHash(sha256 ?? ""))
})

const found = (file: Option.Option<UploadedFile>) =>
  Option.match(file, { onNone: () => Effect.fail(notFound("File not found")), onSome: (f) => Effect.succeed(HttpServerResponse.unsafeJson(f)) })

const exists = (file: Option.Option<UploadedFile>) => HttpServerResponse.empty({ status: Option.isSome(file) ? 200 : 404 })

/** `/files`: uploads streamed to the engine's store, and lookups by hash or uuid (spec §3.9–3.11). */
export const fileRoutes = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/files",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const request = yield* HttpServerRequest.HttpServerRequest
      // Streamed into the store's staging file while hashed: memory stays bounded whatever the size.
      const stream = request.stream.pipe(Stream.mapError((error) => invalidRequest(`the upload was cut off: ${error.message}`)))
      const file = yield* engine.uploadFile({ _tag: "Stream", stream })
      return HttpServerResponse.unsafeJson(file, { status: 201 })
    })
  ),
  HttpRouter.head("/files", Effect.map(lookup, exists)),
  HttpRouter.get("/files", Effect.flatMap(lookup, found)),
  HttpRouter.head("/files/:sha256", Effect.map(byPathHash, exists)),
  HttpRouter.get("/files/:sha256", Effect.flatMap(byPathHash, found))
)
