/** `/instances` and `/operations`: spawning, polling, listing and cancelling (spec §3.12–3.15). */
import type { FakeStore } from "../FakeStore.js"
import * as Api from "../../../src/api/ContreeApi.js"
import { Operation, OperationList } from "../../../src/domain/Operation.js"
import { ApiError, createdReply, emptyReply, encodedReply, jsonBody } from "../http.js"
import { type Timing, cancelOperation, startInstance } from "../operations.js"
import { paginate, timeWindow } from "../params.js"
import type { Generation } from "../types.js"
import { type Route, route } from "../routing.js"
import { parseSpawnRequest } from "../spawnRequest.js"
import { operationJson, operationSummaryJson } from "../views.js"

const requireOperation = (store: FakeStore, uuid: string) => {
  const operation = store.operations.get(uuid)
  if (operation === undefined) throw new ApiError(404, "Operation not found")
  return operation
}

export const operationRoutes = (store: FakeStore, timing: Timing, generation: Generation): Route[] => [
  route(Api.spawnInstance, (request) => createdReply(startInstance(store, timing, parseSpawnRequest(jsonBody(request), store)).uuid)),
  route(Api.listOperations, ({ query }) => {
    const inWindow = timeWindow(query)
    const operations = [...store.operations.values()].reverse().filter(
      (operation) =>
        inWindow(operation.createdAt) &&
        (query.status === undefined || operation.status === query.status.toUpperCase()) &&
        (query.kind === undefined || operation.kind === query.kind.toLowerCase())
    )
    const items = paginate(operations, query).map(operationSummaryJson)
    // A bare array (current generation), or `{"operations": [...]}` (older).
    return encodedReply(200, OperationList, generation === "legacy" ? { operations: items } : items)
  }),
  route(Api.getOperation, (_request, { uuid = "" }) => encodedReply(200, Operation, operationJson(requireOperation(store, uuid)))),
  route(Api.cancelOperation, (_request, { uuid = "" }) => {
    if (!cancelOperation(requireOperation(store, uuid))) throw new ApiError(409, "operation is not cancellable")
    return emptyReply(202)
  })
]
