import { Effect, Option, Schema } from "effect"
import { patPageOf } from "../domain/RegistryUrl.js"
import { RegistryAuth } from "../services/RegistryAuth.js"
import { parseRegistryParam, RegistryUrlParam } from "./registryParams.js"
import { defineTool } from "./Tool.js"

const Input = Schema.Struct({ registry_url: RegistryUrlParam })

// The reference's fields, in its order, plus whether a browser was opened on this machine.
const Output = Schema.Struct({
  status: Schema.Literal("success", "error"),
  registry: Schema.String.annotations({ description: "Registry host the URL names, e.g. docker.io or ghcr.io" }),
  url: Schema.String.annotations({ description: "Page where the user creates a read-only token; empty for an unknown registry" }),
  message: Schema.String,
  agent_instruction: Schema.String.annotations({ description: "What the agent must do next" }),
  browser_opened: Schema.Boolean.annotations({
    description: "True when the page was opened in a browser on the server's machine (never on a machine without a display)"
  })
})

export const contreeRegistryTokenObtain = defineTool({
  name: "contree_registry_token_obtain",
  title: "Get a registry token page",
  description: [
    "Start registry authentication: returns the page where the user creates a read-only personal access token for the registry of registry_url. Free: no sandbox.",
    "Opens the page in a browser when the server's machine has a display; otherwise only returns it.",
    "Then STOP: give the user the URL and wait for their username and token. Never invent or guess a token.",
    "Next: contree_registry_auth(registry_url, username, token), then contree_import_image.",
    "Known registries: docker.io, ghcr.io, registry.gitlab.com, gcr.io (and regional gcr.io hosts).",
    "Guide: contree://guide/errors (Registry authentication)."
  ].join("\n"),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Input,
  output: Output,
  handler: Effect.fn("contree_registry_token_obtain")(function*({ registry_url }) {
    const { registry } = yield* parseRegistryParam(registry_url)
    const page = patPageOf(registry)
    if (Option.isNone(page)) {
      return {
        status: "error" as const,
        registry,
        url: "",
        message: `Unknown registry '${registry}': there is no known token page for it. Ask the user to create a read-only ` +
          `(pull) access token as that registry's documentation describes, then call ` +
          `contree_registry_auth(registry_url="${registry_url}", username=..., token=...).`,
        agent_instruction: "",
        browser_opened: false
      }
    }
    const opened = yield* (yield* RegistryAuth).openBrowser(page.value)
    return {
      status: "success" as const,
      registry,
      url: page.value,
      message: `${opened ? "Opened" : "Open"} ${page.value} to create a personal access token for ${registry} with read-only ` +
        `(pull) access. Then reply with the username and the token, and the agent will call ` +
        `contree_registry_auth(registry_url="${registry_url}", username=..., token=...).`,
      agent_instruction: `STOP here: show the user ${page.value}, ask them to create a read-only token there and to send you their ` +
        `${registry} username and the token, and wait for their answer before calling any other tool. Never make up credentials.`,
      browser_opened: opened
    }
  })
})
