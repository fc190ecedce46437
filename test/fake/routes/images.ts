/** `/images`: listing, registry import and tags (spec §3.1–3.4). */
import type { FakeStore } from "../FakeStore.js"
import * as Api from "../../../src/api/ContreeApi.js"
import { Image, ImageList } from "../../../src/domain/Image.js"
import { isValidTag } from "../../../src/domain/Tag.js"
import { ApiError, createdReply, emptyReply, encodedReply, jsonBody } from "../http.js"
import { type Timing, startImport } from "../operations.js"
import { paginate, timeWindow } from "../params.js"
import { type Route, route } from "../routing.js"
import { imageJson } from "../views.js"

export { isValidTag }

/** Accepts `docker://`, `oci://` and bare references; fills in docker.io/library and `:latest` like the vendor CLI. */
const normalizeReference = (url: string): string => {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url)
  const scheme = match?.[1]?.toLowerCase() ?? "docker"
  if (scheme !== "docker" && scheme !== "oci") throw new ApiError(400, "registry url must use docker:// or oci://")
  let reference = match?.[2] ?? url
  if (reference === "") throw new ApiError(400, "registry url has no image reference")
  const [first = "", ...rest] = reference.split("/")
  const hasRegistryHost = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost")
  if (!hasRegistryHost) reference = `docker.io/${rest.length === 0 ? "library/" : ""}${reference}`
  const name = reference.slice(reference.lastIndexOf("/") + 1)
  if (!name.includes(":") && !name.includes("@")) reference += ":latest"
  return `${scheme}://${reference}`
}

const requireImage = (store: FakeStore, uuid: string) => {
  const image = store.images.get(uuid)
  if (image === undefined) throw new ApiError(404, "Image not found")
  return image
}

const requireTag = (value: unknown): string => {
  if (typeof value !== "string" || !isValidTag(value)) throw new ApiError(400, `invalid tag: ${JSON.stringify(value)}`)
  return value
}

export const imageRoutes = (store: FakeStore, timing: Timing): Route[] => [
  route(Api.listImages, ({ query }) => {
    const inWindow = timeWindow(query)
    const images = [...store.images.values()].reverse().filter(
      (image) =>
        inWindow(image.createdAt) &&
        (query.tagged === undefined || (query.tagged === "1") === (image.tag !== null)) &&
        (!query.tag || (image.tag?.startsWith(query.tag) ?? false)) &&
        (query.uuid === undefined || image.uuid === query.uuid)
    )
    return encodedReply(200, ImageList, { images: paginate(images, query).map(imageJson) })
  }),
  route(Api.importImage, (request) => {
    const body = jsonBody(request)
    const registry = body.registry as { url?: unknown; credentials?: { username?: unknown } } | undefined
    if (typeof registry?.url !== "string" || registry.url === "") throw new ApiError(400, "registry.url is required")
    const tag = body.tag == null ? null : requireTag(body.tag)
    const timeout = body.timeout ?? 300
    if (typeof timeout !== "number" || !(timeout > 0)) throw new ApiError(400, "timeout must be positive")
    const username = registry.credentials?.username
    const operation = startImport(store, timing, {
      metadata: { registry: { url: registry.url }, tag, timeout },
      reference: normalizeReference(registry.url),
      username: typeof username === "string" ? username : ""
    })
    return createdReply(operation.uuid)
  }),
  route(Api.tagImage, (request, { uuid = "" }) => {
    const image = requireImage(store, uuid)
    store.setTag(image, requireTag(jsonBody(request).tag))
    return encodedReply(200, Image, imageJson(image))
  }),
  route(Api.untagImage, ({ query }, { uuid = "" }) => {
    const image = requireImage(store, uuid)
    // Newer clients name the tag to remove; it has to be the image's tag.
    if (query.tag !== undefined && query.tag !== image.tag) throw new ApiError(404, "Tag not found")
    store.setTag(image, null)
    return emptyReply(204)
  })
]
