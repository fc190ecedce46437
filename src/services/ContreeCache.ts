import { Context, type Effect, type Option, Schema } from "effect"

export class CacheError extends Schema.TaggedError<CacheError>()("CacheError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export interface CacheEntry {
  readonly id: number
  readonly kind: string
  readonly key: string
  readonly parentId: number | null
  readonly data: unknown
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface ListOptions {
  readonly limit?: number
  /** Equality filters on JSON fields of `data`, e.g. `{ status: "SUCCESS" }`. */
  readonly where?: Readonly<Record<string, string | number | boolean>>
}

/**
 * A durable key/value store of JSON values grouped by kind, with parent links between entries
 * (image lineage). Only immutable facts belong here: image contents, file hashes, terminal
 * operations, lineage. Anything that can change on the server is never served from it.
 */
export class ContreeCache extends Context.Tag("contree/ContreeCache")<ContreeCache, {
  readonly get: (kind: string, key: string) => Effect.Effect<Option.Option<CacheEntry>, CacheError>
  readonly put: (
    kind: string,
    key: string,
    data: unknown,
    parent?: { readonly kind: string; readonly key: string }
  ) => Effect.Effect<CacheEntry, CacheError>
  readonly delete: (kind: string, key: string) => Effect.Effect<boolean, CacheError>
  readonly list: (kind: string, options?: ListOptions) => Effect.Effect<ReadonlyArray<CacheEntry>, CacheError>
  /** Parent chain, nearest first, at most 50. */
  readonly ancestors: (kind: string, key: string) => Effect.Effect<ReadonlyArray<CacheEntry>, CacheError>
  /** All descendants, breadth first, at most 50. */
  readonly descendants: (kind: string, key: string) => Effect.Effect<ReadonlyArray<CacheEntry>, CacheError>
  /** Deletes entries created more than `days` ago; returns how many. `days <= 0` keeps everything. */
  readonly prune: (days: number) => Effect.Effect<number, CacheError>
}>() {}
