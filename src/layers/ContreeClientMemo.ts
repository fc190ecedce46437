import { Clock, Duration, Effect, Layer } from "effect"
import type { Image } from "../domain/Image.js"
import { ContreeClient } from "../services/ContreeClient.js"

/**
 * Remembers image metadata for a short time. An image's contents never change but its tag can
 * move (from any client), so entries expire after `ttl`, and every tag change made through this
 * client clears them at once. Failures are never remembered.
 */
export const ContreeClientMemo = (ttl: Duration.DurationInput = "10 seconds"): Layer.Layer<ContreeClient, never, ContreeClient> =>
  Layer.effect(
    ContreeClient,
    Effect.gen(function*() {
      const inner = yield* ContreeClient
      const ttlMs = Duration.toMillis(ttl)
      const images = new Map<string, { readonly image: Image; readonly at: number }>()
      const forgetAll = Effect.sync(() => images.clear())
      return ContreeClient.of({
        ...inner,
        // Time comes from the Effect clock, so the expiry is testable with TestClock.
        getImage: (uuid) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const hit = images.get(uuid)
            if (hit !== undefined && now - hit.at < ttlMs) return Effect.succeed(hit.image)
            return inner.getImage(uuid).pipe(Effect.tap((image) => Effect.sync(() => images.set(uuid, { image, at: now }))))
          }),
        tagImage: (uuid, tag) => inner.tagImage(uuid, tag).pipe(Effect.ensuring(forgetAll)),
        untagImage: (uuid) => inner.untagImage(uuid).pipe(Effect.ensuring(forgetAll))
      })
    })
  )
