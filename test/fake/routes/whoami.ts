/** `/whoami`: token information (spec §3.16); every permission granted. */
import { stableUuid } from "../FakeStore.js"
import * as Api from "../../../src/api/ContreeApi.js"
import { WhoAmI } from "../../../src/api/ApiSchemas.js"
import { encodedReply } from "../http.js"
import { type Route, route } from "../routing.js"

export const whoamiRoutes = (token: string): Route[] => [
  route(Api.whoami, () =>
    encodedReply(200, WhoAmI, {
      token_uuid: stableUuid(`token:${token}`),
      token_expiration: null,
      permissions: { list: true, spawn: true },
      limits: { instance_max_timeout: 3600 }
    }))
]
