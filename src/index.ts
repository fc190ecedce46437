/**
 * contree-mcp as an Effect library: the services, their layers, the tools and the MCP adapter.
 * Compose `ContreeLive(config)` into your own runtime, or run `serve(config)`; `contree-mcp/testing`
 * has mock layers. Only what is listed here is public: everything else may change between versions.
 * @since 0.1.0
 */

// Wire types of the ConTree REST API v1, shared by both backends.
/** Images: `Image` (uuid, tag, created_at) and `ImageRef` (a UUID or `tag:NAME`). @since 0.1.0 */
export { Image } from "./domain/Image.js"
export { type ImageRef, parseImageRef } from "./domain/ImageRef.js"
/** Directory listings and uploaded files. @since 0.1.0 */
export { DirectoryListing, FileItem, UploadedFile } from "./domain/Inspect.js"
/** A run: its request, injected files and result. @since 0.1.0 */
export { ConsumedResources, InstanceFileSpec, InstanceMetadata, InstanceResult, ProcessExitState, SpawnRequest } from "./domain/Instance.js"
/** Operations (runs and imports), their statuses and results. @since 0.1.0 */
export {
  ImportMetadata,
  ImportRequest,
  isTerminal,
  Operation,
  OperationKind,
  OperationResult,
  OperationStatus,
  OperationSummary
} from "./domain/Operation.js"
/** A process's output as the API carries it (text, or base64 for other bytes). @since 0.1.0 */
export { decodeStream, encodeStream, OutputStream } from "./domain/OutputStream.js"
/** The ConTree REST API v1, both generations, as one `HttpApi` definition (build clients or servers from it). @since 0.1.0 */
export { ContreeApi } from "./api/ContreeApi.js"
/** Registry image references as `contree_import_image` takes them. @since 0.1.0 */
export { parseRegistryUrl, type RegistryReference } from "./domain/RegistryUrl.js"

// Services: one Context.Tag each, with the errors of their interface.
/** The ConTree REST API v1, answered by the cloud or by the local engine. @since 0.1.0 */
export {
  ContreeClient,
  type GrepQuery,
  type ListImagesQuery,
  type ListOperationsQuery,
  type SpawnOptions,
  type UploadBody
} from "./services/ContreeClient.js"
/** The one error of `ContreeClient`. @since 0.1.0 */
export { ApiErrorReason, ContreeApiError } from "./services/ContreeError.js"
/** The general cache (image metadata, finished operations, lineage). @since 0.1.0 */
export { type CacheEntry, CacheError, ContreeCache, type ListOptions } from "./services/ContreeCache.js"
/** The resolved configuration: command line > environment > INI file > defaults. @since 0.1.0 */
export { type BackendName, ContreeConfig, type ContreeConfigShape, type LogLevelName, type ServerMode } from "./services/ContreeConfig.js"
/** Local directories synced to the backend as directory states (`contree_rsync`). @since 0.1.0 */
export { FileSync, FileSyncError, type SkippedEntry, type SyncedFile, type SyncRequest, type SyncResult } from "./services/FileSync.js"
/** Image lineage as recorded from finished operations. @since 0.1.0 */
export { type Lineage, lineageOf } from "./services/ImageLineage.js"
/** Announced completions and progress, for backends that can tell them (the local engine). @since 0.1.0 */
export { OperationCompletion, type OperationProgress, type OutputChunk } from "./services/OperationCompletion.js"
/** Waits on operations: one poller per operation, cancellation on time-out and shutdown. @since 0.1.0 */
export { type CancelOutcome, OperationWaiter, type WaitOptions, WaitTimeout } from "./services/OperationWaiter.js"
/** Registry credentials: checked with the registry's own auth flow, stored in their own file. @since 0.1.0 */
export { RegistryAuth, type RegistryCredentials, RegistryError } from "./services/RegistryAuth.js"
/** Retries, timeouts and polling, as one overridable reference. @since 0.1.0 */
export { defaultRetryPolicy, RetryPolicy, type RetryPolicyShape } from "./services/RetryPolicy.js"

// Layers: the implementations, and the one composition the server uses.
/** Every service the tools need, for a configuration. @since 0.1.0 */
export { ContreeLive, type ContreeServices } from "./layers/ContreeLive.js"
/** `ContreeClient` over HTTP (needs `HttpClient` and `ContreeConfig`). @since 0.1.0 */
export { ContreeClientLive } from "./layers/ContreeClientLive.js"
/** `ContreeClient` over the embedded local engine. @since 0.1.0 */
export { ContreeClientLocal } from "./layers/ContreeClientLocal.js"
/** A short-lived memo of image metadata in front of any `ContreeClient`. @since 0.1.0 */
export { ContreeClientMemo } from "./layers/ContreeClientMemo.js"
/** The SQLite cache. @since 0.1.0 */
export { ContreeCacheSqlite } from "./layers/ContreeCacheSqlite.js"
/** The SQLite-backed file sync. @since 0.1.0 */
export { FileSyncSqlite } from "./layers/FileSyncSqlite.js"
/** Completions, progress and live output: the local engine's, and the cloud's operation event stream. @since 0.1.0 */
export { OperationCompletionLocal } from "./layers/OperationCompletionLocal.js"
export { OperationCompletionEvents } from "./layers/OperationCompletionEvents.js"
/** The waiter: polling (`OperationWaiterLive`), or with announced completions (`OperationWaiterNotified`). @since 0.1.0 */
export { OperationWaiterLive, OperationWaiterNotified } from "./layers/OperationWaiterLive.js"
/** Registry credential checks and storage. @since 0.1.0 */
export { RegistryAuthLive, type RegistryAuthOptions } from "./layers/RegistryAuthLive.js"
/** The local engine as a configuration sets it up. @since 0.1.0 */
export { LocalEngineConfigured, localEngineOptions } from "./layers/LocalEngineConfigured.js"

// The embedded engine: real sandboxes on this machine.
/** The engine's face, its error, its layer and its options. @since 0.1.0 */
export { LocalEngine } from "./local/LocalEngine.js"
export { LocalEngineError, LocalErrorReason } from "./local/LocalEngineError.js"
export { LocalEngineLive } from "./local/LocalEngineLive.js"
export type { LocalEngineOptions } from "./local/LocalEngineOptions.js"

// Tools and the MCP server.
/** A tool is data: name, description, input and output schemas, and an Effect handler. @since 0.1.0 */
export { defineTool, type Tool, type ToolServices } from "./tools/Tool.js"
export { ToolContext } from "./tools/ToolContext.js"
export { ToolError } from "./tools/ToolError.js"
export { allTools } from "./tools/index.js"
/** The MCP adapter over a registry of tools, resources and prompts, and the whole server. @since 0.1.0 */
export { makeServerFactory } from "./mcp/McpServer.js"
export { defaultRegistry, type Registry } from "./mcp/Registry.js"
export { serve } from "./mcp/serve.js"
export { version } from "./version.js"
