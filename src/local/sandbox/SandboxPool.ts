import { randomBytes } from "node:crypto"
import { Context, Effect, ExecutionStrategy, Exit, Layer, Scope } from "effect"
import { EngineHost } from "../host/EngineHost.js"
import type { HostCapabilities } from "../host/HostCapabilities.js"
import { isRunning } from "../host/HostProcess.js"
import type { LocalEngineError } from "../LocalEngineError.js"
import type { LocalSettings } from "../LocalEngineOptions.js"
import { type ImageGuess, type PreparedSandbox, prepareSandbox, type SandboxHost, type SandboxLaunch } from "./SandboxProcess.js"

/** Sandboxes kept prepared for the next runs: enough for back-to-back runs, few idle processes. */
const POOL_SIZE = 2

/** rlimits standing in for the cgroup caps this host does not give us (bash `ulimit` letters; -d takes KiB). */
const ulimits = (host: HostCapabilities, settings: LocalSettings): string => {
  const cg = host.cgroups
  const capped = (c: string) => (cg._tag === "V1" ? c in cg.parents : cg._tag === "V2" ? cg.controllers.includes(c) : false)
  return [
    ...(settings.memoryBytes !== null && !capped("memory") ? [`d=${Math.floor(settings.memoryBytes / 1024)}`] : []),
    ...(settings.pids !== null && !capped("pids") ? [`u=${settings.pids}`] : [])
  ].join(" ")
}

/** What a sandbox is made with on this host. */
export const sandboxHostOf = ({ host, paths, settings }: EngineHost["Type"]): SandboxHost => ({
  stateDir: paths.sandbox,
  ids: host.ids,
  root: host.root,
  diskBytes: host.tmpfsUpper ? settings.diskBytes : null,
  ulimits: ulimits(host, settings),
  cgroups: host.cgroups,
  limits: settings
})

/**
 * Sandbox setup processes prepared ahead of demand: a run takes one that already has its
 * namespaces, id maps, cgroup, scratch space and stdio relays (see SandboxScript), and pays only
 * for its overlay mount and bwrap. Each serves one run and dies with it.
 */
export class SandboxPool extends Context.Tag("contree/local/SandboxPool")<SandboxPool, {
  /** A prepared sandbox, owned by the caller's scope from now on; prepared on the spot when none is ready. */
  readonly take: Effect.Effect<PreparedSandbox, LocalEngineError, Scope.Scope>
}>() {
  /** None kept ready where sandboxes cannot run. Its sandboxes are killed when the layer is released. */
  static readonly layer: Layer.Layer<SandboxPool, never, EngineHost> = Layer.scoped(
    SandboxPool,
    Effect.flatMap(EngineHost, (engine) =>
      makeSandboxPool(
        sandboxHostOf(engine),
        engine.unavailable === undefined ? Math.min(POOL_SIZE, engine.settings.maxConcurrentRuns) : 0
      ))
  )
}

interface Slot {
  readonly prepared: PreparedSandbox
  readonly scope: Scope.CloseableScope
}

/**
 * Keeps up to `size` sandboxes ready, refilled in the background once a taken one has its run
 * (the server then only waits for bwrap, and the spawns do not delay the run). Each lives in a
 * scope below the pool's, so the ones waiting (and any a run still holds) are killed when the
 * pool's scope closes; their cgroups carry no run's name, and their processes die with the server.
 */
export const makeSandboxPool = (host: SandboxHost, size: number): Effect.Effect<SandboxPool["Type"], never, Scope.Scope> =>
  Effect.gen(function*() {
    // A scope of the pool's own, made now: closing the enclosing scope reaches it only after whatever was made later (the queue and its runs).
    const poolScope = yield* Effect.scope.pipe(Effect.flatMap((outer) => Scope.fork(outer, ExecutionStrategy.sequential)))
    const ready: Array<Slot> = []
    let preparing = 0
    // The image of the last run: the likeliest of the next (an agent iterates on one image).
    let next: ImageGuess | undefined

    const prepare: Effect.Effect<Slot, LocalEngineError> = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(poolScope, ExecutionStrategy.sequential)
        // Random, not counted: two engines may share this process (and so the cgroup names' pid).
        const prepared = yield* restore(prepareSandbox(host, `pool-${randomBytes(6).toString("hex")}`, next)).pipe(
          Scope.extend(scope),
          Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
        )
        return { prepared, scope }
      })
    )

    const fill: Effect.Effect<void> = Effect.suspend(() => {
      if (ready.length + preparing >= size) return Effect.void
      preparing++
      return prepare.pipe(
        Effect.ensuring(Effect.sync(() => preparing--)),
        Effect.matchEffect({
          // A real problem shows again when a run prepares its own; at shutdown this is the kill.
          onFailure: (error) => Effect.logDebug(`could not prepare a sandbox ahead of demand: ${error.message}`),
          onSuccess: (slot) => Effect.sync(() => ready.push(slot)).pipe(Effect.zipRight(fill))
        })
      )
    })
    const refill = Effect.asVoid(Effect.forkIn(fill, poolScope))
    const afterHandOver = (launch: SandboxLaunch) =>
      Effect.suspend(() => {
        if (launch.mode === "run") next = { lowers: launch.lowers, rootMode: launch.rootMode, rootOwner: launch.rootOwner }
        return refill
      })

    yield* refill
    return {
      take: Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          let slot = ready.shift()
          // One whose process died while it waited (killed from outside) is of no use; /proc knows before the exit event comes.
          while (slot !== undefined && (slot.prepared.session.ended || !isRunning(slot.prepared.identity))) {
            yield* Scope.close(slot.scope, Exit.void)
            slot = ready.shift()
          }
          const taken = slot ?? (yield* restore(prepare))
          yield* Effect.addFinalizer((exit) => Scope.close(taken.scope, exit))
          return { ...taken.prepared, afterHandOver }
        })
      )
    }
  })
