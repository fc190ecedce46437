import { Effect, Layer, Stream } from "effect"
import { LocalEngine } from "../local/LocalEngine.js"
import { OperationCompletion } from "../services/OperationCompletion.js"
import { fromEngine } from "./ContreeClientLocal.js"

/** The local engine knows the moment a run ends, so waits on it need no polling; imports also tell their bytes. */
export const OperationCompletionLocal: Layer.Layer<OperationCompletion, never, LocalEngine> = Layer.effect(
  OperationCompletion,
  Effect.map(LocalEngine, (engine) =>
    OperationCompletion.of({
      awaitTerminal: (id) => Effect.mapError(engine.awaitOperation(id), fromEngine),
      progress: engine.watchProgress,
      // The engine does not publish a run's output as it comes yet: nothing to relay until it does.
      output: () => Stream.empty
    }))
)
