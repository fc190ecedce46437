import { Effect, Schema } from "effect"
import { RegistryAuth } from "../services/RegistryAuth.js"
import { parseRegistryParam, RegistryUrlParam, registryToolError } from "./registryParams.js"
import { defineTool } from "./Tool.js"

// The token is decoded straight into a Redacted, so nothing after decoding can print it. The
// messages of failed checks are our own: a parse error would otherwise quote the value it got.
// Surrounding whitespace (a pasted newline) is trimmed from both.
const Token = Schema.Redacted(
  Schema.compose(Schema.String.annotations({ message: () => "expected the token as a string (the value is not shown)" }), Schema.Trim).pipe(
    Schema.nonEmptyString({ message: () => "the token is empty" })
  )
).annotations({ description: "The personal access token (read-only / pull scope is enough). Never shown back." })

const Username = Schema.compose(
  Schema.String.annotations({ description: "Registry username (for GitHub: the GitHub login)" }),
  Schema.Trim
).pipe(Schema.nonEmptyString())

const Input = Schema.Struct({ registry_url: RegistryUrlParam, username: Username, token: Token })

// The reference's fields, in its order.
const Output = Schema.Struct({
  status: Schema.Literal("success", "error"),
  registry: Schema.String.annotations({ description: "Registry host the credentials are for" }),
  message: Schema.String
})

export const contreeRegistryAuth = defineTool({
  name: "contree_registry_auth",
  title: "Log in to a container registry",
  description: [
    "Check a username and personal access token with the registry and, only if the registry accepts them, store them for contree_import_image. Free: no sandbox.",
    "Use the credentials the user gave you after contree_registry_token_obtain; never invent them.",
    "status 'error' with 'invalid' means the registry refused them: ask the user to check the username and token. Nothing is stored then.",
    "The token is kept in a file only the user can read and is never shown back.",
    "Guide: contree://guide/errors (Registry authentication)."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Input,
  output: Output,
  handler: Effect.fn("contree_registry_auth")(
    function*({ registry_url, token, username }) {
      const { registry } = yield* parseRegistryParam(registry_url)
      const check = yield* (yield* RegistryAuth).login(registry, { username, token })
      switch (check._tag) {
        case "Valid":
          return {
            status: "success" as const,
            registry,
            message: `Authenticated successfully with ${registry} as ${username}; the credentials are stored and ` +
              `contree_import_image will use them for ${registry} images.`
          }
        case "Invalid":
          return {
            status: "error" as const,
            registry,
            message: `The credentials for ${registry} are invalid (${check.detail}). Check the username and the token ` +
              `(and that the token may read packages), then call contree_registry_auth again. Nothing was stored.`
          }
        case "NotRequired":
          return {
            status: "error" as const,
            registry,
            message: `${registry} lets anyone pull without logging in, so the credentials cannot be checked and were not stored. ` +
              `Import from it with i_accept_that_anonymous_access_might_be_rate_limited=true.`
          }
      }
    },
    Effect.catchTag("RegistryError", (error) => Effect.fail(registryToolError(error)))
  )
})
