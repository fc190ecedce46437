import { Effect, Option } from "effect"
import type { Operation } from "../domain/Operation.js"
import { ContreeCache } from "./ContreeCache.js"

/**
 * Image ancestry, kept in the cache under kind `image` with parent links. It is recorded from
 * operations this server saw finish, so it knows only images made or imported through it.
 */
const KIND = "image"

export interface Lineage {
  readonly image: string
  readonly parent: string | null
  readonly children: ReadonlyArray<string>
  readonly ancestors: ReadonlyArray<string>
  readonly root: string | null
  readonly depth: number
  readonly is_known: boolean
  readonly data: unknown
}

/** Records what a finished operation says about where its result image came from. */
export const recordOperation = (op: Operation) =>
  Effect.gen(function*() {
    const cache = yield* ContreeCache
    const image = op.resultImage
    if (op.status !== "SUCCESS" || image === null) return
    const instance = op.instance
    if (instance !== undefined && instance.image !== image) {
      // A stub for the input keeps the chain linked even when this cache never saw its origin.
      if (Option.isNone(yield* cache.get(KIND, instance.image))) yield* cache.put(KIND, instance.image, {})
      yield* cache.put(KIND, image, { parent_image: instance.image, operation_id: op.uuid, command: instance.command }, {
        kind: KIND,
        key: instance.image
      })
    }
    const imported = op.importMetadata
    if (imported !== undefined) {
      yield* cache.put(KIND, image, { operation_id: op.uuid, registry_url: imported.registry.url, tag: op.result?.tag ?? null, is_import: true })
    }
  })

export const lineageOf = (image: string) =>
  Effect.gen(function*() {
    const cache = yield* ContreeCache
    const entry = yield* cache.get(KIND, image)
    if (Option.isNone(entry)) {
      return { image, parent: null, children: [], ancestors: [], root: null, depth: 0, is_known: false, data: null } satisfies Lineage
    }
    const ancestors = (yield* cache.ancestors(KIND, image)).map((e) => e.key)
    const children = (yield* cache.descendants(KIND, image)).map((e) => e.key)
    const data = entry.value.data
    const parent = typeof data === "object" && data !== null && "parent_image" in data && typeof data.parent_image === "string"
      ? data.parent_image
      : null
    return {
      image,
      parent,
      children,
      ancestors,
      root: ancestors.at(-1) ?? image,
      depth: ancestors.length,
      is_known: true,
      data
    } satisfies Lineage
  })
