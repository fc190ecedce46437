import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { LocalEngine } from "../../local/LocalEngine.js"
import { notFound } from "../ApiFailure.js"
import { queryParams } from "../QueryParams.js"

/** The query string of the request, `?` included, so a redirect keeps it. */
const search = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const at = request.url.indexOf("?")
  return at === -1 ? "" : request.url.slice(at)
})

/**
 * Relative, so the redirect stays right behind a proxy that mounts the API under a path prefix.
 * 308 keeps the method, as HEAD checks must stay HEAD (spec §1.1, U16).
 */
const redirect = (location: string, status: 302 | 308) => HttpServerResponse.empty({ status, headers: { location } })

const uuidParam = Effect.map(HttpRouter.params, (params) => params["uuid"] ?? "")

/** A file of the image, checked before the response starts so that a missing one is a 404, not a cut stream. */
const requireFile = (uuid: string, path: string) =>
  Effect.gen(function*() {
    const engine = yield* LocalEngine
    if (yield* engine.fileExists(uuid, path)) return
    yield* engine.getImage(uuid)
    return yield* notFound("file not found")
  })

/** `/inspect`: tags resolved by redirect, image metadata, listings and file reads (spec §3.5–3.8). */
export const inspectRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/inspect", Effect.map(search, (query) => redirect(`inspect/${query}`, 308))),
  HttpRouter.get(
    "/inspect/",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const tag = yield* (yield* queryParams).required("tag")
      const image = yield* engine.resolveTag(tag)
      return redirect(`${encodeURIComponent(image.uuid)}/`, 302)
    })
  ),
  HttpRouter.get(
    "/inspect/:uuid",
    Effect.gen(function*() {
      const uuid = yield* uuidParam
      return redirect(`${encodeURIComponent(uuid)}/${yield* search}`, 308)
    })
  ),
  HttpRouter.get(
    "/inspect/:uuid/",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      return HttpServerResponse.unsafeJson(yield* engine.getImage(yield* uuidParam))
    })
  ),
  HttpRouter.get(
    "/inspect/:uuid/list",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const uuid = yield* uuidParam
      const query = yield* queryParams
      const path = yield* query.required("path")
      // Any `text` parameter asks for the `ls -l` form; its value does not matter (spec §3.7).
      return query.has("text")
        ? HttpServerResponse.text(yield* engine.listDirectoryText(uuid, path))
        : HttpServerResponse.unsafeJson(yield* engine.listDirectory(uuid, path))
    })
  ),
  HttpRouter.head(
    "/inspect/:uuid/download",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const path = yield* (yield* queryParams).required("path")
      const exists = yield* engine.fileExists(yield* uuidParam, path)
      return HttpServerResponse.empty({ status: exists ? 200 : 404 })
    })
  ),
  HttpRouter.get(
    "/inspect/:uuid/download",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const uuid = yield* uuidParam
      const path = yield* (yield* queryParams).required("path")
      yield* requireFile(uuid, path)
      return HttpServerResponse.stream(engine.downloadFile(uuid, path), { contentType: "application/octet-stream" })
    })
  )
)
