import { Context, type Option, type Redacted } from "effect"
import type { NetworkPolicy } from "../local/sandbox/SandboxNetwork.js"

export type ServerMode = "stdio" | "http"
/** Where sandboxes run: the ConTree cloud API, or the embedded engine on this machine. */
export type BackendName = "cloud" | "local"
export type LogLevelName = "debug" | "info" | "warning" | "error" | "critical"

/** The resolved configuration: command line > environment > INI file > defaults. */
export interface ContreeConfigShape {
  readonly url: string
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** The IAM project, sent as the `Project` header; none for JWT deployments. */
  readonly project: Option.Option<string>
  readonly mode: ServerMode
  readonly logLevel: LogLevelName
  readonly httpListen: string
  readonly httpPort: number
  readonly cacheFiles: string
  readonly cacheGeneral: string
  readonly cachePruneDays: number
  /** The registry credential file (JSON, mode 0600). */
  readonly registryCredentials: string
  /** Registries (`host` or `host:port`) reached over plain HTTP; loopback registries always are. */
  readonly insecureRegistries: ReadonlyArray<string>
  /** Default: `cloud` when a token is configured, `local` otherwise. */
  readonly backend: BackendName
  /** The local backend's images, layers, uploads and operations. */
  readonly dataDir: string
  /** Which local runs get outbound network access: `off` (default), `opt-in` (runs that ask) or `on` (every run). */
  readonly network: NetworkPolicy
  /** The most one local import may unpack, bytes; null: no cap; absent: from the data directory's free space. */
  readonly maxImportBytes?: number | null
}

export class ContreeConfig extends Context.Tag("contree/ContreeConfig")<ContreeConfig, ContreeConfigShape>() {}
