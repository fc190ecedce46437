/** `/files`: content-addressed uploads, lookups and listing (spec §3.9–3.11; current generation §1.3 #5–8, §1.7). */
import type { FakeStore } from "../FakeStore.js"
import * as Api from "../../../src/api/ContreeApi.js"
import { FileList, FileRecord } from "../../../src/api/ApiSchemas.js"
import { UploadedFile } from "../../../src/domain/Inspect.js"
import { ApiError, encodedReply, errorReply } from "../http.js"
import { paginate, timeWindow } from "../params.js"
import { type Route, route } from "../routing.js"
import type { FakeUploadedFile } from "../types.js"
import type { Generation } from "../types.js"
import { fileJson } from "../views.js"

const found = (file: FakeUploadedFile | undefined) => {
  if (file === undefined) throw new ApiError(404, "File not found")
  return encodedReply(200, FileRecord, fileJson(file))
}

/**
 * `legacy`: only the query forms (`GET`/`HEAD /files?sha256=|uuid=`), no path route. `current`:
 * the path routes, and `GET /files` is the listing whatever the query, `HEAD /files` "no route"
 * (as the vendor's stub). `both`: the lookup query wins over the listing, and the path routes too.
 */
export const fileRoutes = (store: FakeStore, generation: Generation): Route[] => [
  route(Api.uploadFile, ({ body }) => {
    const file = store.uploadFile(body)
    return encodedReply(201, UploadedFile, { uuid: file.uuid, sha256: file.sha256, size: file.size })
  }),
  ...(generation === "current" ? [route(Api.fileLookupExists, () => errorReply(404, "no route"))] : []),
  route(Api.listFiles, ({ query }) => {
    // The lookup query must win over the listing: older clients expect a single object.
    if (generation !== "current") {
      if (query.sha256 !== undefined) return found(store.findFileBySha(query.sha256))
      if (query.uuid !== undefined) return found(store.files.get(query.uuid))
    }
    const inWindow = timeWindow(query)
    const files = [...store.files.values()].reverse().filter((file) => inWindow(file.createdAt))
    return encodedReply(200, FileList, { files: paginate(files, query).map(fileJson) })
  }),
  ...(generation === "legacy" ? [] : [route(Api.getFile, (_request, { sha256 = "" }) => found(store.findFileBySha(sha256)))])
]
