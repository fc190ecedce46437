/** `/inspect`: tag resolution, image metadata, directory listings and file downloads (spec §3.5–3.8). */
import { FakeFilesystem, normalizePath } from "../FakeFilesystem.js"
import type { FakeStore } from "../FakeStore.js"
import * as Api from "../../../src/api/ContreeApi.js"
import { Image } from "../../../src/domain/Image.js"
import { ApiError, type ApiRequest, bytesReply, emptyReply, encodedReply, jsonReply } from "../http.js"
import { fileItem, formatLongListing } from "../listing.js"
import { type Route, route } from "../routing.js"
import { imageJson } from "../views.js"

const queryString = (request: ApiRequest): string => {
  const search = new URLSearchParams(request.query).toString()
  return search === "" ? "" : `?${search}`
}

/** Inspect paths must end with a slash; the slashless forms redirect permanently. */
const addSlash = (request: ApiRequest) => emptyReply(308, { location: `/v1${request.path}/${queryString(request)}` })

const imageFilesystem = (store: FakeStore, uuid: string): FakeFilesystem => {
  const image = store.images.get(uuid)
  if (image === undefined) throw new ApiError(404, "Image not found")
  return new FakeFilesystem(image.tree)
}

export const inspectRoutes = (store: FakeStore): Route[] => [
  route(Api.inspectSlashless, addSlash),
  route(Api.resolveTag, ({ query }) => {
    if (!query.tag) throw new ApiError(400, "tag is required")
    const image = store.findImageByTag(query.tag)
    if (image === undefined) throw new ApiError(404, "Image not found")
    // Relative to /v1/inspect/, as the real service answers.
    return emptyReply(302, { location: `${image.uuid}/` })
  }),
  route(Api.imageSlashless, addSlash),
  route(Api.getImage, (_request, { uuid = "" }) => {
    const image = store.images.get(uuid)
    if (image === undefined) throw new ApiError(404, "Image not found")
    return encodedReply(200, Image, imageJson(image))
  }),
  route(Api.listDirectory, ({ query }, { uuid = "" }) => {
    const fs = imageFilesystem(store, uuid)
    const path = normalizePath(query.path ?? "/")
    const node = fs.get(path)
    if (node === undefined) throw new ApiError(404, "Directory not found")
    if (node.type !== "dir") throw new ApiError(422, "Not a directory")
    const entries = fs.list(path).map((entry) => ({ name: entry.name, node: entry.node, nlink: fs.nlink(entry.path) }))
    if (query.text !== undefined) {
      return { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body: Buffer.from(formatLongListing(entries)) }
    }
    // Not encoded: the current generation's entries also carry uid, gid and nlink, which the
    // definition's `DirectoryListing` (the client's lenient decoder) does not keep.
    return jsonReply(200, { path, files: entries.map(fileItem) })
  }),
  route(Api.downloadFile, ({ query }, { uuid = "" }) => {
    const fs = imageFilesystem(store, uuid)
    if (!query.path) throw new ApiError(400, "path is required")
    // Relative paths are resolved from / because the reference client may omit the slash.
    const node = fs.get(normalizePath(query.path))
    if (node === undefined) throw new ApiError(404, "file not found")
    if (node.type === "dir") throw new ApiError(422, "path is a directory")
    return bytesReply(node.content, "application/octet-stream")
  })
]
