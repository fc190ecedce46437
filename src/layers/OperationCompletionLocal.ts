import { Effect, Layer } from "effect"
import { LocalEngine } from "../local/LocalEngine.js"
import { ContreeApiError } from "../services/ContreeError.js"
import { OperationCompletion } from "../services/OperationCompletion.js"

/** The local engine knows the moment a run ends, so waits on it need no polling; imports also tell their bytes. */
export const OperationCompletionLocal: Layer.Layer<OperationCompletion, never, LocalEngine> = Layer.effect(
  OperationCompletion,
  Effect.map(LocalEngine, (engine) =>
    OperationCompletion.of({
      awaitTerminal: (id) =>
        engine.awaitOperation(id).pipe(
          Effect.mapError((error) =>
            new ContreeApiError({
              reason: error.reason === "NotFound" ? "NotFound" : "Server",
              status: error.reason === "NotFound" ? 404 : 500,
              message: error.message,
              method: "GET",
              path: `/operations/${encodeURIComponent(id)}`
            })
          )
        ),
      progress: engine.watchProgress
    }))
)
