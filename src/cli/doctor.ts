import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, Option } from "effect"
import { ContreeClientLive } from "../layers/ContreeClientLive.js"
import { localEngineOptions } from "../layers/LocalEngineConfigured.js"
import { describeHost, probeHost, unavailableReason } from "../local/host/HostCapabilities.js"
import { resolveSettings } from "../local/LocalEngineOptions.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ContreeConfig, type ContreeConfigShape } from "../services/ContreeConfig.js"

const print = (lines: ReadonlyArray<string>) => Effect.sync(() => process.stdout.write(`${lines.join("\n")}\n`))

/**
 * `contree-mcp doctor`: which backend the configuration selects and what it can do here — for the
 * local backend, the isolation and the limits in force; for the cloud, what the token may do.
 */
export const doctor = (config: ContreeConfigShape) =>
  config.backend === "local"
    ? Effect.gen(function*() {
      // Only a probe: opening the engine would create the state directory and fix its id mapping.
      const settings = resolveSettings(localEngineOptions(config))
      const host = yield* probeHost(settings)
      const problem = unavailableReason(host)
      yield* print([
        `backend: local (state in ${config.dataDir})`,
        ...(problem === undefined ? [] : [`NOT AVAILABLE: ${problem}`]),
        ...describeHost(host, settings)
      ])
    })
    : Effect.gen(function*() {
      yield* print([`backend: cloud (${config.url})`, `token: ${Option.isSome(config.token) ? "configured" : "missing"}`])
      if (Option.isNone(config.token)) return
      const client = yield* ContreeClient
      const answer = yield* client.whoami.pipe(Effect.either)
      yield* print([
        answer._tag === "Right" ? `whoami: ${JSON.stringify(answer.right)}` : `whoami failed: ${answer.left.message}`
      ])
    }).pipe(
      Effect.provide(ContreeClientLive.pipe(
        Layer.provide(FetchHttpClient.layer),
        Layer.provide(Layer.succeed(ContreeConfig, config))
      ))
    )
