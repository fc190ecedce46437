import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { SpawnRequestBody } from "../../domain/Instance.js"
import { OperationStatus } from "../../domain/Operation.js"
import { localWhoami } from "../../layers/ContreeClientLocal.js"
import { LocalEngine } from "../../local/LocalEngine.js"
import { ApiFailure, jsonBody } from "../ApiFailure.js"
import { queryParams } from "../QueryParams.js"
import { createdOperation } from "./createdOperation.js"

const uuidParam = Effect.map(HttpRouter.params, (params) => params["uuid"] ?? "")

/** `/instances`, `/operations` and `/whoami` (spec §3.12–3.16). */
export const operationRoutes = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/instances",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const request = yield* jsonBody(SpawnRequestBody)
      return createdOperation(yield* engine.spawn(request))
    })
  ),
  HttpRouter.get(
    "/operations",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const query = yield* queryParams
      const operations = yield* engine.listOperations({
        limit: query.count("limit", 100),
        offset: query.count("offset", 0),
        status: yield* query.oneOf("status", OperationStatus.literals),
        kind: yield* query.oneOf("kind", ["instance", "image_import"]),
        since: query.get("since"),
        until: query.get("until")
      })
      // A bare array, as the newer API answers and every client accepts (spec §3.13, U4).
      return HttpServerResponse.unsafeJson(operations)
    })
  ),
  HttpRouter.get(
    "/operations/:uuid",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      return HttpServerResponse.unsafeJson(yield* engine.getOperation(yield* uuidParam))
    })
  ),
  HttpRouter.del(
    "/operations/:uuid",
    Effect.gen(function*() {
      const engine = yield* LocalEngine
      const uuid = yield* uuidParam
      if (!(yield* engine.cancelOperation(uuid))) return yield* new ApiFailure({ status: 409, message: "operation is not cancellable" })
      return HttpServerResponse.unsafeJson({ uuid, status: "CANCELLED" }, { status: 202 })
    })
  ),
  HttpRouter.get(
    "/whoami",
    Effect.map(LocalEngine, (engine) => HttpServerResponse.unsafeJson(localWhoami(engine)))
  )
)
