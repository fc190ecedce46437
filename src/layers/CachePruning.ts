import { Effect, Layer, Schedule } from "effect"
import { ContreeCache } from "../services/ContreeCache.js"
import { ContreeConfig } from "../services/ContreeConfig.js"

/** Applies the retention setting now and then once a day, for as long as the server runs. */
export const CachePruning: Layer.Layer<never, never, ContreeCache | ContreeConfig> = Layer.scopedDiscard(
  Effect.gen(function*() {
    const cache = yield* ContreeCache
    const { cachePruneDays } = yield* ContreeConfig
    if (cachePruneDays <= 0) return
    const prune = cache.prune(cachePruneDays).pipe(
      Effect.tap((n) => n > 0 ? Effect.logInfo(`pruned ${n} cache entries older than ${cachePruneDays} days`) : Effect.void),
      Effect.catchAll((error) => Effect.logWarning(`cache pruning failed: ${error.message}`))
    )
    yield* Effect.forkScoped(Effect.repeat(prune, Schedule.spaced("24 hours")))
  })
)
