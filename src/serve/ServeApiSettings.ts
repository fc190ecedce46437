import type { Option, Redacted } from "effect"

/** The default port of `contree-mcp serve`: beside 9452, the MCP server's own HTTP mode. */
export const DEFAULT_SERVE_PORT = 9453

/** The settings of `contree-mcp serve` beyond the engine's data directory. */
export interface ServeApiSettings {
  readonly listen: string
  readonly port: number
  /** CONTREE_MCP_SERVE_TOKEN: takes precedence over the token file. Never a flag, which process listings show. */
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** Read when there is no token in the environment; created (0600) with a new token when missing. */
  readonly tokenFile: string
}
