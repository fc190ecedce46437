import { Effect, Schema } from "effect"
import { DirectoryListing, type FileItem } from "../domain/Inspect.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { cachedForever } from "./cachedForever.js"
import { normalizeImagePath } from "../domain/ImagePath.js"
import { ImageRefParam, noNul, withDefault } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"

const Entry = Schema.Struct({
  name: Schema.String,
  path: Schema.String,
  type: Schema.Literal("file", "directory", "symlink"),
  size: Schema.Number,
  mode: Schema.String.annotations({ description: "Octal st_mode, e.g. 0o100644" }),
  target: Schema.NullOr(Schema.String).annotations({ description: "Symlink target" })
})

const toEntry = (item: FileItem): typeof Entry.Type => ({
  name: item.path.split("/").filter((s) => s !== "").pop() ?? item.path,
  path: item.path,
  type: item.is_symlink ? "symlink" : item.is_dir ? "directory" : "file",
  size: item.size,
  mode: `0o${item.mode.toString(8)}`,
  target: item.is_symlink && item.symlink_to ? item.symlink_to : null
})

/** A directory listing of an image, cached forever: images are immutable. */
export const listImageDirectory = (uuid: string, path: string) =>
  Effect.flatMap(ContreeClient, (client) =>
    cachedForever("list_dir", `${uuid}:${path}`, DirectoryListing, client.listDirectory(uuid, path)))

export const contreeListFiles = defineTool({
  name: "contree_list_files",
  title: "List files in an image",
  description: [
    "List a directory of an image without starting a sandbox. Free, and cached: prefer it to running `ls`.",
    "Each entry has name, type (file, directory, symlink), size, mode and symlink target."
  ].join("\n"),
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({
    image: ImageRefParam,
    path: withDefault(noNul(Schema.String), "/", "Directory to list (absolute; relative paths start at /)")
  }),
  output: Schema.Struct({ path: Schema.String, count: Schema.Number, files: Schema.Array(Entry) }),
  handler: Effect.fn("contree_list_files")(function*(input) {
    const uuid = yield* resolveImage(input.image)
    const listing = yield* listImageDirectory(uuid, normalizeImagePath(input.path))
    return { path: listing.path, count: listing.files.length, files: listing.files.map(toEntry) }
  })
})
