/**
 * Looking uploads up on a server of either generation (spec §1.3 #5–8, §1.7).
 *
 * The current generation addresses a file by path, `GET`/`HEAD /files/{sha256}`, and answers the
 * older `GET /files?sha256=` with a listing whatever the query (`HEAD /files?…` is "no route").
 * The older generation has only the query forms. So a lookup goes to the path first and falls
 * back to the query only when that route is missing:
 *
 * - 2xx from the path: a current server (remembered);
 * - 405 from the path: the route is missing, an older server (remembered);
 * - 404 from the path is ambiguous: "no such file" on a current server, "no such route" on an
 *   older one. Error texts are no contract (routers say "Not found", handlers "File not found"),
 *   so the first ambiguous 404 is settled by probing once with the older query, whose answer
 *   shape tells the generation and answers the lookup itself: a listing means a current server
 *   (the file is absent, as its path said); one file or a 404 means a server that understands
 *   the query, which then serves every later lookup (a server that speaks both stays correct).
 *
 * The answer is remembered per client, so each lookup costs one request once it is known.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Effect, Option, Ref } from "effect"
import { endpointRequest } from "../api/ApiRequest.js"
import { FileLookupAnswer, type FileRecord, filesOfAnswer, isFileListing } from "../api/ApiSchemas.js"
import type * as ContreeApiModule from "../api/ContreeApi.js"
import type { UploadedFile } from "../domain/Inspect.js"
import type { ContreeApiError } from "../services/ContreeError.js"
import type { ContreeHttp } from "./ContreeHttp.js"

export type FilesGeneration = "unknown" | "current" | "legacy"

/** What the path route answered: a file (or, for HEAD, presence), "no such file or route" (404), or "no such route" (405). */
type PathAnswer = { readonly _tag: "Found"; readonly file: Option.Option<UploadedFile> } | { readonly _tag: "Status"; readonly status: 404 | 405 }

/** What the older query answered, and whether it was a listing (a current server ignoring the query). */
interface QueryAnswer {
  readonly listing: boolean
  readonly files: ReadonlyArray<FileRecord>
}

/** The three fields callers use, whatever else the server sent. */
export const uploadedFile = (file: FileRecord): UploadedFile => ({
  uuid: file.uuid,
  sha256: file.sha256,
  ...(file.size === undefined ? {} : { size: file.size })
})

const withHash = (files: ReadonlyArray<FileRecord>, sha256: string) =>
  Option.map(Option.fromNullable(files.find((file) => file.sha256.toLowerCase() === sha256.toLowerCase())), uploadedFile)

const withUuid = (files: ReadonlyArray<FileRecord>, uuid: string) => files.some((file) => file.uuid === uuid)

export const makeFileLookup = (http: ContreeHttp, Api: typeof ContreeApiModule) =>
  Effect.gen(function*() {
    const generation = yield* Ref.make<FilesGeneration>("unknown")
    const settle = (known: FilesGeneration) => Ref.set(generation, known)
    const missingRoute = (status: number) => status === 404 || status === 405

    /** `GET /files/{sha256}` (or HEAD, which tells presence only). */
    const byPath = (sha256: string, method: "GET" | "HEAD") => {
      const { call, request } = method === "GET"
        ? endpointRequest(Api.getFile, { path: { sha256 } })
        : endpointRequest(Api.fileExists, { path: { sha256 } })
      return http.send(
        call,
        method === "GET" ? HttpClientRequest.acceptJson(request) : request,
        (response): Effect.Effect<PathAnswer, ContreeApiError> => {
          if (response.status === 404 || response.status === 405) return Effect.succeed({ _tag: "Status", status: response.status })
          if (method === "HEAD") return Effect.succeed({ _tag: "Found", file: Option.none() })
          return http.decode(call, FileLookupAnswer)(response).pipe(
            Effect.map((answer) => ({ _tag: "Found", file: withHash(filesOfAnswer(answer), sha256) }))
          )
        },
        (status) => status < 300 || missingRoute(status)
      )
    }

    /** The older generation's `GET /files?sha256=|uuid=`: one file, or 404; a current server answers a listing. */
    const byQuery = (query: { readonly sha256: string } | { readonly uuid: string }) => {
      const { call, request } = endpointRequest(Api.listFiles, { urlParams: query })
      return http.send(
        call,
        HttpClientRequest.acceptJson(request),
        (response): Effect.Effect<QueryAnswer, ContreeApiError> =>
          response.status === 404
            ? Effect.succeed({ listing: false, files: [] })
            : Effect.map(http.decode(call, FileLookupAnswer)(response), (answer) => ({ listing: isFileListing(answer), files: filesOfAnswer(answer) })),
        (status) => status < 300 || status === 404
      )
    }

    /** Probes once with the older query and remembers the generation its answer shape shows. */
    const probe = (query: { readonly sha256: string } | { readonly uuid: string }) =>
      Effect.tap(byQuery(query), (answer) => settle(answer.listing ? "current" : "legacy"))

    const findFileByHash = (sha256: string): Effect.Effect<Option.Option<UploadedFile>, ContreeApiError> =>
      Effect.gen(function*() {
        const known = yield* Ref.get(generation)
        if (known === "legacy") return withHash((yield* byQuery({ sha256 })).files, sha256)
        const answer = yield* byPath(sha256, "GET")
        if (answer._tag === "Found") {
          yield* settle("current")
          return answer.file
        }
        if (answer.status === 404 && known === "current") return Option.none()
        if (answer.status === 405) yield* settle("legacy")
        return withHash((yield* probe({ sha256 })).files, sha256)
      })

    const fileHashExists = (sha256: string) =>
      Effect.gen(function*() {
        const known = yield* Ref.get(generation)
        if (known === "legacy") return yield* http.exists(Api.fileLookupExists, { urlParams: { sha256 } })
        const answer = yield* byPath(sha256, "HEAD")
        if (answer._tag === "Found") {
          yield* settle("current")
          return true
        }
        if (answer.status === 404 && known === "current") return false
        if (answer.status === 405) {
          yield* settle("legacy")
          return yield* http.exists(Api.fileLookupExists, { urlParams: { sha256 } })
        }
        return Option.isSome(withHash((yield* probe({ sha256 })).files, sha256))
      })

    /**
     * Whether the upload `uuid` is still there. The current generation cannot look a file up by
     * uuid, so there the answer is `false` ("not confirmed") unless a listing shows it: callers
     * then look the content up by hash, which costs a request, never a wrong uuid
     * (`uploadDeduplicated` does, and keeps the uuid when the hash finds the same one).
     */
    const fileUuidExists = (uuid: string) =>
      Effect.gen(function*() {
        const known = yield* Ref.get(generation)
        if (known === "legacy") return yield* http.exists(Api.fileLookupExists, { urlParams: { uuid } })
        if (known === "current") return false
        // HEAD /files?uuid= cannot probe: a current server may answer it 404 ("no route") or 200 (the listing).
        return withUuid((yield* probe({ uuid })).files, uuid)
      })

    return { findFileByHash, fileHashExists, fileUuidExists, generation: Ref.get(generation) }
  })
