import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { LocalEngine } from "../../local/LocalEngine.js"
import { ImportRequestBody } from "../../domain/Operation.js"
import { jsonBody } from "../ApiFailure.js"
import { queryParams } from "../QueryParams.js"
import { createdOperation } from "./createdOperation.js"

const TagBody = Schema.Struct({ tag: Schema.String })

/** `tagged=1` or `0` (spec §3.1); `true`/`false` as some clients spell them. */
const TAGGED: Record<string, boolean> = { "1": true, "true": true, "0": false, "false": false }

/** `/images`: the list, import, and tags (spec §3.1–3.4). */
export const imageRoutes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/images",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const query = yield* queryParams
      const tagged = yield* query.oneOf("tagged", ["1", "0", "true", "false"])
      const images = yield* engine.listImages({
        limit: query.count("limit", 100),
        offset: query.count("offset", 0),
        tagged: tagged === undefined ? undefined : TAGGED[tagged],
        tagPrefix: query.get("tag"),
        since: query.get("since"),
        until: query.get("until")
      })
      return HttpServerResponse.unsafeJson({ images })
    })
  ),
  HttpRouter.post(
    "/images/import",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const request = yield* jsonBody(ImportRequestBody)
      return createdOperation(yield* engine.importImage(request))
    })
  ),
  HttpRouter.patch(
    "/images/:uuid/tag",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const { uuid } = yield* HttpRouter.params
      const { tag } = yield* jsonBody(TagBody)
      return HttpServerResponse.unsafeJson(yield* engine.tagImage(uuid ?? "", tag))
    })
  ),
  HttpRouter.del(
    "/images/:uuid/tag",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const { uuid } = yield* HttpRouter.params
      yield* engine.untagImage(uuid ?? "")
      return HttpServerResponse.empty({ status: 204 })
    })
  )
)
