import { Clock, Duration, Effect, Option, Redacted, Schema } from "effect"
import { redact } from "../domain/redact.js"
import { canonicalImportUrl, type RegistryReference } from "../domain/RegistryUrl.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ContreeApiError } from "../services/ContreeError.js"
import { OperationWaiter } from "../services/OperationWaiter.js"
import { RegistryAuth, type RegistryCredentials } from "../services/RegistryAuth.js"
import { RetryPolicy } from "../services/RetryPolicy.js"
import { OperationView, pendingView, toOperationView } from "./OperationView.js"
import { optionalParam, TagParam, withDefault } from "./params.js"
import { ImportUrlParam, parseImportParam, registryToolError } from "./registryParams.js"
import { defineTool } from "./Tool.js"
import { increasingProgress, ToolContext } from "./ToolContext.js"
import { ToolError } from "./ToolError.js"

/** What the import asks ConTree for; the tool does not expose it (as in the reference). */
const IMPORT_TIMEOUT_SECONDS = 300

const Input = Schema.Struct({
  registry_url: ImportUrlParam,
  tag: optionalParam(TagParam, "Tag for the imported image, e.g. 'alpine:3.20'"),
  wait: withDefault(Schema.Boolean, true, "Wait for the import. false: return the operation_id at once"),
  i_accept_that_anonymous_access_might_be_rate_limited: withDefault(
    Schema.Boolean,
    false,
    "Pull without credentials when none are stored for the registry (registries such as Docker Hub rate-limit anonymous pulls). Only with the user's consent"
  )
})

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

const notAuthenticated = (registry: string, why: string) =>
  new ToolError({
    reason: "Unauthorized",
    message: `Not authenticated with registry '${registry}': ${why}. Call contree_registry_token_obtain(registry_url=...) ` +
      `and give the user the URL, STOP until they send a username and token, then call contree_registry_auth(registry_url, ` +
      `username, token) and import again. Or, if the user agrees to rate-limited anonymous pulls, pass ` +
      `i_accept_that_anonymous_access_might_be_rate_limited=true.`
  })

/** A server (or a proxy) may echo the request body, credentials included, in an error; they never reach the agent. */
const scrubbed = (credentials: RegistryCredentials | undefined) => (error: ContreeApiError): ContreeApiError => {
  const secret = credentials === undefined ? "" : Redacted.value(credentials.token)
  if (secret === "" || !error.message.includes(secret)) return error
  return new ContreeApiError({ ...error, message: redact(error.message, secret) })
}

/** The canonical URL of a registry image and the stored credentials to pull it with (none: anonymous, if allowed). */
const registryPull = (given: string, reference: RegistryReference, anonymousOk: boolean) =>
  Effect.gen(function*() {
    const url = yield* Option.match(canonicalImportUrl(reference), {
      onNone: () =>
        Effect.fail(
          new ToolError({
            reason: "InvalidInput",
            message: `registry_url '${given}' names the registry ${reference.registry} but no image; ` +
              `write it as 'docker://${reference.registry}/<repository>:<tag>'`
          })
        ),
      onSome: Effect.succeed
    })
    const stored = yield* (yield* RegistryAuth).credentialsFor(reference.registry).pipe(
      Effect.catchTag("RegistryError", (error) => Effect.fail(registryToolError(error)))
    )
    switch (stored._tag) {
      case "Valid":
        return { url, credentials: stored.credentials }
      case "None":
        if (!anonymousOk) return yield* notAuthenticated(reference.registry, "no credentials are stored for it")
        return { url, credentials: undefined }
      case "Rejected":
        if (!anonymousOk) {
          return yield* notAuthenticated(
            reference.registry,
            `the stored credentials were refused by the registry (${stored.detail}) and have been removed`
          )
        }
        yield* Effect.logWarning(`importing from ${reference.registry} anonymously: its stored credentials were refused`)
        return { url, credentials: undefined }
    }
  })

export const contreeImportImage = defineTool({
  name: "contree_import_image",
  title: "Import an image from a registry or a local archive",
  description: [
    "Import a container image from a registry (Docker Hub, ghcr.io, ...) as a ConTree image. Starts a sandbox-side job (costly, like contree_run).",
    "First check contree_list_images(tag_prefix=...): the image may already be there.",
    "Uses the credentials stored by contree_registry_auth, checked with the registry before each import. Without them it fails: " +
      "run contree_registry_token_obtain, STOP for the user's token, then contree_registry_auth; or, only if the user agrees, " +
      "set i_accept_that_anonymous_access_might_be_rate_limited=true.",
    "Pass `tag` to tag the result (e.g. 'python:3.11-slim'). The new image UUID is in result_image.",
    "Local backend only: import from this machine without credentials: 'oci-archive:/abs/image.tar[:ref]', 'oci:/abs/layout[:ref]', " +
      "'docker-archive:/abs/saved.tar[:repo:tag]', 'tarball:/abs/rootfs.tar.gz'. Importing the same image again returns the existing one.",
    "wait=false returns an operation_id at once; collect it with contree_wait_operations.",
    "Guides: contree://guide/quickstart, contree://guide/errors."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: Input,
  output: OperationView,
  handler: Effect.fn("contree_import_image")(function*(input) {
    const source = yield* parseImportParam(input.registry_url)
    // Local layouts and archives need no credentials; a registry's are checked before each import.
    const { credentials, url } = source._tag === "Local"
      ? { url: source.url, credentials: undefined }
      : yield* registryPull(input.registry_url, source.reference, input.i_accept_that_anonymous_access_might_be_rate_limited)

    const client = yield* ContreeClient
    const waiter = yield* OperationWaiter
    const policy = yield* RetryPolicy
    // An anonymous pull sends no `credentials` at all (the reference sent empty strings).
    const operationId = yield* client.importImage({
      registry: {
        url,
        ...(credentials === undefined ? {} : { credentials: { username: credentials.username, password: Redacted.value(credentials.token) } })
      },
      ...(input.tag === undefined ? {} : { tag: input.tag }),
      timeout: IMPORT_TIMEOUT_SECONDS
    }).pipe(Effect.mapError(scrubbed(credentials)))
    // Tracking records the result's lineage (an import is a root) even when nobody waits.
    yield* waiter.track(operationId)
    if (!input.wait) return pendingView(operationId, "image_import")
    const progress = increasingProgress(yield* ToolContext)
    const started = yield* Clock.currentTimeMillis
    let fetching = false
    // A local source is read (a rootfs tarball twice: hashed, then unpacked); a registry's blobs are fetched.
    const moved = source._tag === "Local" ? "read" : "fetched"
    const op = yield* waiter.wait(operationId, {
      // ConTree gives the import IMPORT_TIMEOUT_SECONDS; the grace covers queueing, as for contree_run.
      timeout: Duration.sum(Duration.seconds(IMPORT_TIMEOUT_SECONDS), policy.runGrace),
      // Seconds while the status is all there is; bytes (which soon outgrow them) once the backend tells them.
      onProgress: (current) =>
        fetching ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
          progress((now - started) / 1000, undefined, `import ${operationId} is ${current.status}`)),
      onWork: (work) => {
        if (work.done === 0) return Effect.void
        fetching = true
        return progress(work.done, work.total > 0 ? work.total : undefined, `import ${operationId}: ${mib(work.done)} of ${mib(work.total)} MiB ${moved}`)
      }
    })
    const view = toOperationView(op)
    const secret = credentials === undefined ? "" : Redacted.value(credentials.token)
    return secret !== "" && view.error?.includes(secret) ? { ...view, error: view.error.split(secret).join("<redacted>") } : view
  })
})
