import { Effect, Either, Schema } from "effect"
import { parseRegistryUrl, type RegistryReference } from "../domain/RegistryUrl.js"
import type { RegistryError } from "../services/RegistryAuth.js"
import { invalidInput, ToolError } from "./ToolError.js"

export const RegistryUrlParam = Schema.NonEmptyTrimmedString.annotations({
  description: "Image or registry: 'docker://docker.io/library/alpine:3.20', 'oci://ghcr.io/org/image:tag', " +
    "'ghcr.io/org/image:tag', or a Docker Hub name such as 'alpine' or 'myorg/image:v1'"
})

export const parseRegistryParam = (url: string): Effect.Effect<RegistryReference, ToolError> =>
  Either.match(parseRegistryUrl(url), {
    onLeft: (message) => Effect.fail(invalidInput(`registry_url: ${message}`)),
    onRight: Effect.succeed
  })

/** A registry failure in words for the agent; its message never holds a token. */
export const registryToolError = (error: RegistryError): ToolError => {
  switch (error.reason) {
    case "Transport":
    case "Timeout":
    case "Unavailable":
      return new ToolError({ reason: error.reason === "Timeout" ? "Timeout" : "Upstream", message: `registry ${error.registry}: ${error.message}` })
    case "Unsupported":
    case "Insecure":
      return new ToolError({ reason: "InvalidInput", message: `registry ${error.registry}: ${error.message}` })
    case "Store":
      return new ToolError({ reason: "Internal", message: `registry credentials: ${error.message}` })
  }
}
