import { Effect, Either, Option, Schema } from "effect"
import { parseLocalImportUrl, parseRegistryUrl, type RegistryReference } from "../domain/RegistryUrl.js"
import type { RegistryError } from "../services/RegistryAuth.js"
import { noNul } from "./params.js"
import { invalidInput, ToolError } from "./ToolError.js"

const REGISTRY_URL_HELP = "Image or registry: 'docker://docker.io/library/alpine:3.20', 'oci://ghcr.io/org/image:tag', " +
  "'ghcr.io/org/image:tag', or a Docker Hub name such as 'alpine' or 'myorg/image:v1'"

export const RegistryUrlParam = noNul(Schema.NonEmptyTrimmedString).annotations({ description: REGISTRY_URL_HELP })

/** `contree_import_image`'s source: a registry reference, or (local backend only) a layout or archive on the server's machine. */
export const ImportUrlParam = noNul(Schema.NonEmptyTrimmedString).annotations({
  description: REGISTRY_URL_HELP +
    ". Local backend only, absolute paths on the server's machine: 'oci-archive:/path/image.tar[:ref]', 'oci:/path/layout[:ref]', " +
    "'docker-archive:/path/saved.tar[:repo:tag]' (docker save), 'tarball:/path/rootfs.tar[.gz]'"
})

export type ImportSourceParam =
  | { readonly _tag: "Registry"; readonly reference: RegistryReference }
  | { readonly _tag: "Local"; readonly url: string }

/** A local source as given (the engine settles PATH and REF against its filesystem), or a registry reference. */
export const parseImportParam = (url: string): Effect.Effect<ImportSourceParam, ToolError> =>
  Option.match(parseLocalImportUrl(url), {
    onSome: Either.match({
      onLeft: (message) => Effect.fail(invalidInput(`registry_url: ${message}`)),
      onRight: () => Effect.succeed<ImportSourceParam>({ _tag: "Local", url: url.trim() })
    }),
    onNone: () => Effect.map(parseRegistryParam(url), (reference): ImportSourceParam => ({ _tag: "Registry", reference }))
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
