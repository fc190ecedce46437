import { Effect, Schema } from "effect"
import { ContreeClient } from "../services/ContreeClient.js"
import { version } from "../version.js"
import { defineTool } from "./Tool.js"

const Flags = Schema.Record({ key: Schema.String, value: Schema.Boolean })
const Counts = Schema.Record({ key: Schema.String, value: Schema.Number })

/** The fields of a WhoAmIResponse this tool passes on; anything else the server adds is left out. */
const Identity = Schema.Struct({
  backend: Schema.optional(Schema.String),
  token_uuid: Schema.optional(Schema.String),
  token_expiration: Schema.optional(Schema.NullOr(Schema.Number)),
  permissions: Schema.optionalWith(Flags, { default: () => ({}) }),
  limits: Schema.optionalWith(Counts, { default: () => ({}) }),
  operations_stat: Schema.optionalWith(Counts, { default: () => ({}) })
})

export const contreeWhoami = defineTool({
  name: "contree_whoami",
  title: "Show permissions and limits",
  description:
    "What this server may do: the backend (cloud or local), the token's permissions, limits (maximum run timeout, concurrent runs) and operation counts, and the server version. Free.",
  annotations: { readOnlyHint: true, openWorldHint: true },
  // An empty struct lets any property through; this one says which is not a parameter.
  input: Schema.Struct({}).pipe(
    Schema.filter((given) => {
      const extra = Object.keys(given)[0]
      return extra === undefined || { path: [extra], message: "is unexpected: contree_whoami takes no parameters" }
    }, { jsonSchema: {} })
  ),
  output: Schema.Struct({
    backend: Schema.String,
    server_version: Schema.String,
    token_uuid: Schema.optional(Schema.String),
    token_expiration: Schema.optional(Schema.NullOr(Schema.Number)),
    permissions: Flags,
    limits: Counts,
    operations_stat: Counts
  }),
  handler: Effect.fn("contree_whoami")(function*() {
    const client = yield* ContreeClient
    // A server's answer of another shape still tells the backend and version; its failure is the tool's.
    const identity = yield* Effect.flatMap(client.whoami, (raw) => Schema.decodeUnknown(Identity)(raw).pipe(Effect.orElseSucceed(() => undefined)))
    return {
      backend: identity?.backend ?? "cloud",
      server_version: version,
      ...(identity?.token_uuid === undefined ? {} : { token_uuid: identity.token_uuid }),
      ...(identity?.token_expiration === undefined ? {} : { token_expiration: identity.token_expiration }),
      permissions: identity?.permissions ?? {},
      limits: identity?.limits ?? {},
      operations_stat: identity?.operations_stat ?? {}
    }
  })
})
