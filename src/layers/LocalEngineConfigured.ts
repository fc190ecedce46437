import type { Layer } from "effect"
import type { LocalEngine } from "../local/LocalEngine.js"
import type { LocalEngineError } from "../local/LocalEngineError.js"
import { LocalEngineLive } from "../local/LocalEngineLive.js"
import type { LocalEngineOptions } from "../local/LocalEngineOptions.js"
import type { ContreeConfigShape } from "../services/ContreeConfig.js"

/**
 * The engine's options as the configuration sets them. The MCP server, `contree-mcp serve` and
 * `doctor` all read them here, so a setting cannot reach one and be silently dropped by another.
 */
export const localEngineOptions = (config: ContreeConfigShape): LocalEngineOptions => ({
  stateDir: config.dataDir,
  insecureRegistries: config.insecureRegistries,
  network: config.network,
  maxImportBytes: config.maxImportBytes
})

/** The embedded engine as configured: the one way the app builds it. */
export const LocalEngineConfigured = (config: ContreeConfigShape): Layer.Layer<LocalEngine, LocalEngineError> =>
  LocalEngineLive(localEngineOptions(config))
