import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { ContreeApi, importImage, tagImage } from "../../api/ContreeApi.js"
import { jsonPayload, withEngine } from "../ApiFailure.js"
import { createdOperation } from "./createdOperation.js"

/** `/images`: the list, import, and tags (spec §3.1–3.4). */
export const imageRoutes = HttpApiBuilder.group(ContreeApi, "images", (handlers) =>
  handlers
    .handle("listImages", ({ urlParams }) =>
      withEngine((engine) =>
        engine.listImages({
          limit: urlParams.limit,
          offset: urlParams.offset,
          tagged: urlParams.tagged,
          tagPrefix: urlParams.tag,
          since: urlParams.since,
          until: urlParams.until
        })
      ).pipe(Effect.map((images) => ({ images }))))
    .handleRaw("importImage", () =>
      withEngine((engine) => Effect.flatMap(jsonPayload(importImage), engine.importImage)).pipe(Effect.map(createdOperation)))
    .handleRaw("tagImage", ({ path }) =>
      withEngine((engine) => Effect.flatMap(jsonPayload(tagImage), ({ tag }) => engine.tagImage(path.uuid, tag))))
    .handle("untagImage", ({ path }) => withEngine((engine) => engine.untagImage(path.uuid))))
