import { Effect, Layer } from "effect"
import { LocalEngine } from "../local/LocalEngine.js"
import { OperationCompletion } from "../services/OperationCompletion.js"
import { fromEngine } from "./ContreeClientLocal.js"

/** The local engine knows the moment a run ends, so waits on it need no polling; imports tell their bytes, runs their output. */
export const OperationCompletionLocal: Layer.Layer<OperationCompletion, never, LocalEngine> = Layer.effect(
  OperationCompletion,
  Effect.map(LocalEngine, (engine) =>
    OperationCompletion.of({
      awaitTerminal: (id) => Effect.mapError(engine.awaitOperation(id), fromEngine),
      progress: engine.watchProgress,
      output: engine.watchOutput
    }))
)
