import { Effect, Either, Schema } from "effect"
import { parseImageRef } from "../domain/ImageRef.js"
import { decodeBytes } from "../domain/OutputStream.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { lineageOf } from "../services/ImageLineage.js"
import { cachedForever } from "../tools/cachedForever.js"
import { readImageFile } from "../tools/contree_read_file.js"
import { normalizeImagePath } from "../domain/ImagePath.js"
import { resolveImage } from "../tools/resolveImage.js"
import { toToolError } from "../tools/ToolError.js"
import type { ResourceTemplate } from "./Resource.js"

const imageNote = "{image} is a UUID or tag:NAME (percent-encode a tag that contains '/')."

export const imageRead: ResourceTemplate = {
  name: "contree_image_read",
  title: "File in an image",
  uriTemplate: "contree://image/{image}/read/{path}",
  description: `A file's content, read without a sandbox. Non-UTF-8 content is 'base64:' followed by base64. ${imageNote}`,
  mimeType: "text/plain",
  read: ({ image, path }) =>
    Effect.gen(function*() {
      const uuid = yield* resolveImage(image ?? "")
      const decoded = decodeBytes(yield* readImageFile(uuid, normalizeImagePath(path ?? "")))
      return decoded.encoding === "utf-8" ? decoded.text : `base64:${decoded.text}`
    }).pipe(Effect.mapError(toToolError))
}

export const imageLs: ResourceTemplate = {
  name: "contree_image_ls",
  title: "Directory in an image",
  uriTemplate: "contree://image/{image}/ls/{path}",
  description: `An 'ls -l' style listing, read without a sandbox; '.' is the root. ${imageNote}`,
  mimeType: "text/plain",
  read: ({ image, path }) =>
    Effect.gen(function*() {
      const uuid = yield* resolveImage(image ?? "")
      const dir = normalizeImagePath(path === "." ? "/" : path ?? "/")
      const client = yield* ContreeClient
      return yield* cachedForever("list_dir_text", `${uuid}:${dir}:text`, Schema.String, client.listDirectoryText(uuid, dir))
    }).pipe(Effect.mapError(toToolError))
}

export const imageLineage: ResourceTemplate = {
  name: "contree_image_lineage",
  title: "Image lineage",
  uriTemplate: "contree://image/{image}/lineage",
  description:
    "JSON: the image's parent, ancestors (nearest first), descendants, root and depth, as far as this server saw them being made. " +
    imageNote,
  mimeType: "application/json",
  read: ({ image }) =>
    Effect.gen(function*() {
      const ref = parseImageRef(image ?? "")
      // A UUID is looked up as given, even one this server never saw; a tag is resolved first.
      const uuid = Either.isRight(ref) && ref.right._tag === "Uuid" ? ref.right.uuid : yield* resolveImage(image ?? "")
      return JSON.stringify(yield* lineageOf(uuid), null, 2)
    }).pipe(Effect.mapError(toToolError))
}
