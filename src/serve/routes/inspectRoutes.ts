import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { ContreeApi } from "../../api/ContreeApi.js"
import { imageSlashlessLocation, inspectSlashlessLocation, tagLocation } from "../../api/HandWrittenRoutes.js"
import type { DirectoryListing } from "../../domain/Inspect.js"
import type { LocalEngine } from "../../local/LocalEngine.js"
import type { LocalEngineError } from "../../local/LocalEngineError.js"
import { notFound, withEngine } from "../ApiFailure.js"

/** The query string of the request, `?` included, so a redirect keeps it. */
const search = (request: HttpServerRequest.HttpServerRequest) => {
  const at = request.url.indexOf("?")
  return at === -1 ? "" : request.url.slice(at)
}

/**
 * Relative, so the redirect stays right behind a proxy that mounts the API under a path prefix.
 * 308 keeps the method, as HEAD checks must stay HEAD (spec §1.1, U16).
 */
const redirect = (location: string, status: 302 | 308) => HttpServerResponse.empty({ status, headers: { location } })

/** A file of the image, checked before the response starts so that a missing one is a 404, not a cut stream. */
const requireFile = (engine: LocalEngine["Type"], uuid: string, path: string) =>
  Effect.gen(function*() {
    if (yield* engine.fileExists(uuid, path)) return
    yield* engine.getImage(uuid)
    return yield* notFound("file not found")
  })

const exists = (found: boolean) => HttpServerResponse.empty({ status: found ? 200 : 404 })

/** `/inspect`: tags resolved by redirect, image metadata, listings and file reads (spec §3.5–3.8). */
export const inspectRoutes = HttpApiBuilder.group(ContreeApi, "inspect", (handlers) =>
  handlers
    .handle("inspectSlashless", ({ request }) => Effect.succeed(redirect(inspectSlashlessLocation(search(request)), 308)))
    .handle("resolveTag", ({ urlParams }) =>
      withEngine((engine) => Effect.map(engine.resolveTag(urlParams.tag), (image) => redirect(tagLocation(image.uuid), 302))))
    .handle("imageSlashless", ({ path, request }) => Effect.succeed(redirect(imageSlashlessLocation(path.uuid, search(request)), 308)))
    .handle("getImage", ({ path }) => withEngine((engine) => engine.getImage(path.uuid)))
    .handle("listDirectory", ({ path, urlParams }) =>
      withEngine((engine): Effect.Effect<DirectoryListing | string, LocalEngineError> =>
        // Any `text` parameter asks for the `ls -l` form; its value does not matter (spec §3.7).
        urlParams.text !== undefined ? engine.listDirectoryText(path.uuid, urlParams.path) : engine.listDirectory(path.uuid, urlParams.path)))
    .handle("downloadExists", ({ path, urlParams }) =>
      withEngine((engine) => Effect.map(engine.fileExists(path.uuid, urlParams.path), exists)))
    .handle("downloadFile", ({ path, urlParams }) =>
      withEngine((engine) =>
        // Streamed: the definition's `Bytes` would hold the whole file in memory.
        Effect.map(
          requireFile(engine, path.uuid, urlParams.path),
          () => HttpServerResponse.stream(engine.downloadFile(path.uuid, urlParams.path), { contentType: "application/octet-stream" })
        )
      ))
    .handle("downloadArchive", ({ path, urlParams }) =>
      withEngine((engine) =>
        Effect.map(engine.downloadArchive(path.uuid, urlParams.path), (tar) => HttpServerResponse.stream(tar, { contentType: "application/x-tar" }))
      ))
    .handle("archiveExists", ({ path, urlParams }) =>
      withEngine((engine) =>
        engine.downloadArchive(path.uuid, urlParams.path).pipe(
          Effect.as(true),
          Effect.catchIf((error) => error.reason === "NotFound" || error.reason === "InvalidRequest", () => Effect.succeed(false)),
          Effect.map(exists)
        )
      ))
    .handle("grepImage", ({ path, urlParams }) =>
      withEngine((engine) =>
        engine.grep(path.uuid, {
          patterns: urlParams.pattern,
          paths: urlParams.path ?? [],
          globs: urlParams.glob ?? [],
          maxCount: urlParams.max_count,
          maxTotal: urlParams.max_total ?? 1000,
          case: urlParams.case ?? "smart",
          before: urlParams.before ?? 0,
          after: urlParams.after ?? 0
        })
      )))
