/** `/whoami`: token information (spec §3.16); every permission granted. */
import { stableUuid } from "../FakeStore.js"
import { type Route, jsonReply } from "../http.js"

export const whoamiRoutes = (token: string): Route[] => [
  {
    method: "GET",
    pattern: /^\/whoami$/,
    handle: () =>
      jsonReply(200, {
        token_uuid: stableUuid(`token:${token}`),
        token_expiration: null,
        permissions: { list: true, spawn: true },
        limits: { instance_max_timeout: 3600 }
      })
  }
]
