import type { HttpClient } from "@effect/platform"
import { Effect, type Option, Stream } from "effect"
import type { RegistryReference } from "../../domain/RegistryUrl.js"
import type { RegistryCredentials } from "../../services/RegistryAuth.js"
import { LocalEngineError } from "../LocalEngineError.js"
import type { ImageSource } from "./ImageSource.js"

export interface RegistrySourceOptions {
  readonly reference: RegistryReference
  /** Stored credentials for the registry, or none for an anonymous pull. */
  readonly credentials: Option.Option<RegistryCredentials>
  /** Hosts (`host:port`) that may be reached over plain HTTP; loopback always may. */
  readonly insecureRegistries: ReadonlyArray<string>
}

// PLACEHOLDER until the registry branch lands: the OCI distribution client goes here.
export const registrySource = (options: RegistrySourceOptions): Effect.Effect<ImageSource, never, HttpClient.HttpClient> => {
  const unavailable = new LocalEngineError({ reason: "Unavailable", message: `cannot pull ${options.reference.registry} yet` })
  return Effect.succeed({ name: options.reference.registry, resolve: Effect.fail(unavailable), blob: () => Stream.fail(unavailable) })
}
