import { Context, type Effect, type Redacted, Schema } from "effect"

/** A username and a personal access token. The token stays `Redacted` everywhere in memory. */
export interface RegistryCredentials {
  readonly username: string
  readonly token: Redacted.Redacted<string>
}

/** What the registry said about a set of credentials. */
export type CredentialCheck =
  | { readonly _tag: "Valid" }
  /** The registry (or its token service) refused them with 401 or 403. */
  | { readonly _tag: "Invalid"; readonly detail: string }
  /** The registry answers `/v2/` without asking for credentials, so they cannot be checked. */
  | { readonly _tag: "NotRequired" }

/** Stored credentials for a registry, after checking them with the registry again. */
export type StoredCredentials =
  | { readonly _tag: "None" }
  | { readonly _tag: "Valid"; readonly credentials: RegistryCredentials }
  /** They were stored but the registry now refuses them; they have been removed. */
  | { readonly _tag: "Rejected"; readonly detail: string }

/**
 * Why talking to a registry, or to the credential store, failed. Messages never contain a token:
 * they are built from hosts, statuses and our own words only.
 */
export class RegistryError extends Schema.TaggedError<RegistryError>()("RegistryError", {
  reason: Schema.Literal(
    /** The registry could not be reached. */
    "Transport",
    /** It did not answer in time. */
    "Timeout",
    /** It answered with a status that says nothing about the credentials (5xx, 429, 404...). */
    "Unavailable",
    /** It asked for authentication in a way we cannot answer, or is not a registry. */
    "Unsupported",
    /** Answering would send credentials over plain HTTP to a host that is neither loopback nor listed as insecure. */
    "Insecure",
    /** The credential file could not be read or written. */
    "Store"
  ),
  registry: Schema.String,
  message: Schema.String
}) {}

/**
 * Container-registry credentials: checks them with the registry (the OCI distribution token flow,
 * or Basic auth where the registry asks for it), keeps the ones that work in a store only the user
 * can read, and opens token pages in a browser where one can be opened.
 */
export class RegistryAuth extends Context.Tag("contree/RegistryAuth")<RegistryAuth, {
  /** Checks credentials with the registry; stores nothing. */
  readonly validate: (registry: string, credentials: RegistryCredentials) => Effect.Effect<CredentialCheck, RegistryError>
  /** Checks credentials and stores them only when the registry accepts them, replacing earlier ones. */
  readonly login: (registry: string, credentials: RegistryCredentials) => Effect.Effect<CredentialCheck, RegistryError>
  /** The stored credentials, checked again with the registry; ones it now refuses are removed. */
  readonly credentialsFor: (registry: string) => Effect.Effect<StoredCredentials, RegistryError>
  /**
   * Opens a URL in the user's browser when this machine has a display; never blocks on or fails
   * because of a missing one. True when a browser launcher was started.
   */
  readonly openBrowser: (url: string) => Effect.Effect<boolean>
}>() {}
