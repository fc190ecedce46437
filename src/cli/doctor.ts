import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { ContreeClientLive } from "../layers/ContreeClientLive.js"
import { LocalEngine } from "../local/LocalEngine.js"
import { LocalEngineLive } from "../local/LocalEngineLive.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { ContreeConfig, type ContreeConfigShape } from "../services/ContreeConfig.js"

const print = (lines: ReadonlyArray<string>) => Effect.sync(() => process.stdout.write(`${lines.join("\n")}\n`))

/**
 * `contree-mcp doctor`: which backend the configuration selects and what it can do here — for the
 * local backend, the isolation and the limits in force; for the cloud, what the token may do.
 */
export const doctor = (config: ContreeConfigShape) =>
  config.backend === "local"
    ? Effect.flatMap(LocalEngine, (engine) => print([`backend: local (state in ${config.dataDir})`, ...engine.describe])).pipe(
      Effect.provide(LocalEngineLive({ stateDir: config.dataDir }))
    )
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
