import { Schema } from "effect"

const flag = Schema.optionalWith(Schema.Boolean, { default: () => false })

/** A directory entry; `path` is the name relative to the listed directory. */
export class FileItem extends Schema.Class<FileItem>("FileItem")({
  path: Schema.String,
  size: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  owner: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  group: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  mode: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  mtime: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  is_dir: flag,
  is_regular: flag,
  is_symlink: flag,
  is_socket: flag,
  is_fifo: flag,
  symlink_to: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => "" }),
  /** Numeric owner, group and link count (current generation; `owner`/`group` may be names there). */
  uid: Schema.optional(Schema.Number),
  gid: Schema.optional(Schema.Number),
  nlink: Schema.optional(Schema.Number)
}) {}

export class DirectoryListing extends Schema.Class<DirectoryListing>("DirectoryListing")({
  path: Schema.String,
  files: Schema.Array(FileItem)
}) {}

export const UploadedFile = Schema.Struct({
  uuid: Schema.String,
  sha256: Schema.String,
  size: Schema.optional(Schema.Number)
})
export type UploadedFile = typeof UploadedFile.Type
