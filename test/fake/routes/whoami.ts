/** `/whoami`: token information in the `WhoAmIResponse` shape (spec §1.4); every permission granted. */
import { stableUuid } from "../FakeStore.js"
import * as Api from "../../../src/api/ContreeApi.js"
import { WhoAmI } from "../../../src/api/ApiSchemas.js"
import type { FakeStore } from "../FakeStore.js"
import { encodedReply } from "../http.js"
import { type Route, route } from "../routing.js"

export const whoamiRoutes = (token: string, store: FakeStore): Route[] => [
  route(Api.whoami, () => {
    const operations_stat: Record<string, number> = {}
    for (const operation of store.operations.values()) operations_stat[operation.status] = (operations_stat[operation.status] ?? 0) + 1
    return encodedReply(200, WhoAmI, {
      token_uuid: stableUuid(`token:${token}`),
      token_expiration: null,
      permissions: { list: true, spawn: true, spawn_disposable: true, cancel: true, import: true, set_image_tag: true },
      limits: { instance_max_timeout: 3600, instance_max_concurrency: 8 },
      operations_stat
    })
  })
]
