// Runs: a spawn request checked against the image and the host, then queued to run in a sandbox of the pool.
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { existsSync } from "node:fs"
import type { SpawnRequest } from "../../domain/Instance.js"
import type { SpawnOptions } from "../../services/ContreeClient.js"
import { EngineHost } from "../host/EngineHost.js"
import { BUSYBOX, isStaticElf } from "../images/BusyboxImage.js"
import { imageUser } from "../images/ImageUser.js"
import { invalidRequest, LocalEngineError } from "../LocalEngineError.js"
import { OperationRunner } from "../operations/OperationRunner.js"
import { ImageStore } from "../store/ImageStore.js"
import { OperationStore } from "../store/OperationStore.js"
import { FilesLayers } from "./FilesLayer.js"
import { executeRun, type RunContext } from "./RunExecution.js"
import { validateRunRequest, withImageDefaults } from "./RunRequest.js"
import { RunOutput } from "./RunOutput.js"
import { runNetwork } from "./SandboxNetwork.js"
import { sandboxHostOf, SandboxPool } from "./SandboxPool.js"

export class Sandbox extends Context.Tag("contree/local/Sandbox")<Sandbox, {
  /** Queues a run; the operation id comes back at once. `options.network` is checked against the network setting here. */
  readonly spawn: (request: SpawnRequest, options?: SpawnOptions) => Effect.Effect<string, LocalEngineError>
}>() {
  static readonly layer: Layer.Layer<
    Sandbox,
    never,
    EngineHost | ImageStore | OperationStore | FilesLayers | SandboxPool | OperationRunner | RunOutput | SqlClient.SqlClient
  > = Layer.effect(
    Sandbox,
    Effect.gen(function*() {
      const engine = yield* EngineHost
      const images = yield* ImageStore
      const operations = yield* OperationStore
      const runner = yield* OperationRunner
      const { host, settings, unavailable } = engine
      const context: RunContext = {
        settings,
        paths: engine.paths,
        host,
        sandboxHost: sandboxHostOf(engine),
        sandboxes: yield* SandboxPool,
        sql: yield* SqlClient.SqlClient,
        images: images.records,
        operations: operations.records,
        filesLayers: yield* FilesLayers,
        stackOf: images.stackOf,
        settled: runner.settled
      }
      const outputs = yield* RunOutput

      const spawn = (request: SpawnRequest, options?: SpawnOptions) =>
        Effect.gen(function*() {
          const network = yield* runNetwork(settings.network, host.networkHelper, options?.network)
          const validated = yield* validateRunRequest(request, network)
          if (request.timeout > settings.maxTimeoutSeconds) {
            return yield* invalidRequest(`timeout must be at most ${settings.maxTimeoutSeconds} seconds on this server`)
          }
          const image = yield* images.resolveRef(request.image)
          const defaulted = yield* withImageDefaults(validated, request, image.defaults)
          // The request's uid/gid (as `docker run -u UID:GID`), else the image's User, resolved with the image's own account files.
          // A uid alone takes its primary group from the image's /etc/passwd, as `docker run -u UID` does.
          const requested = defaulted.requestedUser
          const asUser = requested === undefined
            ? image.defaults?.user
            : requested.gid === undefined ? `${requested.uid}` : `${requested.uid}:${requested.gid}`
          const user = asUser ? yield* imageUser(yield* images.stackOf(image), asUser, host.ids) : undefined
          if (user !== undefined && user.uid !== 0 && !(yield* Effect.sync(() => existsSync(BUSYBOX) && isStaticElf(BUSYBOX)))) {
            return yield* new LocalEngineError({
              reason: "Unavailable",
              message: `the image runs as uid ${user.uid}, and switching to it needs a static ${BUSYBOX} (Debian: apt-get install busybox-static)`
            })
          }
          const run = { ...defaulted, user }
          if (unavailable !== undefined) return yield* new LocalEngineError({ reason: "Unavailable", message: unavailable })
          const id = yield* operations.create("instance", { image: image.uuid, metadata: run.metadata })
          // Open from the start, so a waiter that comes while the run is queued follows it; closed however the operation ends.
          const output = outputs.open(id)
          yield* runner.submit(id, run.metadata, executeRun(context, id, image, run, output), Effect.sync(output.close))
          return id
        })

      return Sandbox.of({ spawn })
    })
  )
}
