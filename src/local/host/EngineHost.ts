// The engine's place on this machine: its settings, state directory, what the host offers, and this engine's identity.
import { Context, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { type LocalEngineOptions, type LocalSettings, resolveSettings } from "../LocalEngineOptions.js"
import { statePaths, type StatePaths } from "../store/StatePaths.js"
import { describeHost, type HostCapabilities, probeHost, unavailableReason } from "./HostCapabilities.js"
import { selfIdentity } from "./HostProcess.js"

export class EngineHost extends Context.Tag("contree/local/EngineHost")<EngineHost, {
  readonly settings: LocalSettings
  readonly paths: StatePaths
  readonly host: HostCapabilities
  /** Why no sandbox can run on this host; undefined when they can. */
  readonly unavailable: string | undefined
  /** Isolation, limits in force and resource accounting, one fact a line (`contree-mcp doctor`). */
  readonly describe: ReadonlyArray<string>
  /** `pid:starttime:engine`: whose operations are whose when several engines share the state directory. */
  readonly owner: string
}>() {
  /** Probes the host once, when the engine starts. */
  static readonly layer = (options: LocalEngineOptions): Layer.Layer<EngineHost> =>
    Layer.effect(
      EngineHost,
      Effect.gen(function*() {
        const settings = resolveSettings(options)
        const host = yield* probeHost(settings)
        return EngineHost.of({
          settings,
          paths: statePaths(settings.stateDir),
          host,
          unavailable: unavailableReason(host),
          describe: describeHost(host, settings),
          // This process plus a per-engine suffix: two engines of one process must not take each other's operations for their own.
          owner: `${selfIdentity()}:${randomBytes(4).toString("hex")}`
        })
      })
    )
}
