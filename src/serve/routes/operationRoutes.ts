import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { ContreeApi, spawnInstance } from "../../api/ContreeApi.js"
import { localWhoami } from "../../layers/ContreeClientLocal.js"
import { ApiFailure, jsonPayload, notServed, withEngine } from "../ApiFailure.js"
import { createdOperation } from "./createdOperation.js"

/** `/instances` (spec §3.12). */
export const instanceRoutes = HttpApiBuilder.group(ContreeApi, "instances", (handlers) =>
  handlers.handleRaw("spawnInstance", () =>
    withEngine((engine) => Effect.flatMap(jsonPayload(spawnInstance), (request) => engine.spawn(request))).pipe(Effect.map(createdOperation))))

/** `/operations` (spec §3.13–3.15); subprocesses are not served yet. */
export const operationRoutes = HttpApiBuilder.group(ContreeApi, "operations", (handlers) =>
  handlers
    // A bare array, as the newer API answers and every client accepts (spec §3.13, U4).
    .handle("listOperations", ({ urlParams }) => withEngine((engine) => engine.listOperations(urlParams)))
    .handle("getOperation", ({ path }) => withEngine((engine) => engine.getOperation(path.uuid)))
    .handle("cancelOperation", ({ path }) =>
      withEngine((engine) =>
        Effect.filterOrFail(
          engine.cancelOperation(path.uuid),
          (cancelled) => cancelled,
          () => new ApiFailure({ status: 409, message: "operation is not cancellable" })
        )
      ).pipe(Effect.as({ uuid: path.uuid, status: "CANCELLED" })))
    .handle("createSubprocess", notServed)
    .handle("getSubprocess", notServed)
    .handle("killSubprocess", notServed)
    .handle("writeSubprocessStdin", notServed))

/** `/whoami` (spec §3.16). */
export const whoamiRoutes = HttpApiBuilder.group(ContreeApi, "whoami", (handlers) =>
  handlers.handle("whoami", () => withEngine(localWhoami)))
