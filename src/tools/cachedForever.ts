import { Effect, Option, Schema } from "effect"
import { ContreeCache } from "../services/ContreeCache.js"

/**
 * Memoises an immutable fact (image contents never change) in the durable cache. A cache that
 * cannot be read or written only costs a request; it never fails the call.
 */
export const cachedForever = <A, I, E, R>(
  kind: string,
  key: string,
  schema: Schema.Schema<A, I>,
  compute: Effect.Effect<A, E, R>,
  shouldStore: (value: A) => boolean = () => true
): Effect.Effect<A, E, R | ContreeCache> =>
  Effect.gen(function*() {
    const cache = yield* ContreeCache
    const hit = yield* cache.get(kind, key).pipe(
      Effect.map(Option.flatMap((entry) => Schema.decodeUnknownOption(schema)(entry.data))),
      Effect.orElseSucceed(() => Option.none<A>())
    )
    if (Option.isSome(hit)) return hit.value
    const value = yield* compute
    if (shouldStore(value)) {
      yield* cache.put(kind, key, Schema.encodeSync(schema)(value)).pipe(
        Effect.catchAll((error) => Effect.logWarning(`cache write failed: ${error.message}`))
      )
    }
    return value
  })
