import { Effect, Layer } from "effect"
import { ContreeCacheSqlite } from "../../src/layers/ContreeCacheSqlite.js"
import type { ContreeCache } from "../../src/services/ContreeCache.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeApiError } from "../../src/services/ContreeError.js"
import { FileSync } from "../../src/services/FileSync.js"
import { OperationWaiter } from "../../src/services/OperationWaiter.js"
import { RegistryAuth } from "../../src/services/RegistryAuth.js"
import type { Tool } from "../../src/tools/Tool.js"
import { ToolContext } from "../../src/tools/ToolContext.js"

export interface Progress {
  readonly progress: number
  readonly total: number | undefined
  readonly message: string | undefined
}

/**
 * The services a tool needs: mocks for the client, the waiter, registry auth and file sync (whose unimplemented methods
 * die), a real in-memory SQLite cache, and a ToolContext that records progress notifications.
 */
export const toolServices = (parts: {
  readonly client?: Layer.Layer<ContreeClient>
  readonly waiter?: Layer.Layer<OperationWaiter>
  readonly cache?: Layer.Layer<ContreeCache>
  readonly registry?: Layer.Layer<RegistryAuth>
  readonly fileSync?: Layer.Layer<FileSync>
  readonly progress?: Array<Progress>
} = {}) =>
  Layer.mergeAll(
    parts.client ?? Layer.mock(ContreeClient, {}),
    parts.waiter ?? Layer.mock(OperationWaiter, {}),
    parts.registry ?? Layer.mock(RegistryAuth, {}),
    parts.fileSync ?? Layer.mock(FileSync, {}),
    parts.cache ?? ContreeCacheSqlite(":memory:").pipe(Layer.orDie),
    Layer.succeed(ToolContext, {
      progress: (progress, total, message) => Effect.sync(() => void parts.progress?.push({ progress, total, message })),
      wantsProgress: parts.progress !== undefined
    })
  )

/** Calls a tool with raw arguments, as the MCP adapter does. */
export const call = (tool: Tool, args: unknown) => tool.call(args)

/** Calls a tool that is expected to fail, returning its ToolError. */
export const callFails = (tool: Tool, args: unknown) => Effect.flip(tool.call(args))

export const apiError = (reason: ContreeApiError["reason"], message: string, status?: number) =>
  new ContreeApiError({ reason, message, method: "GET", path: "/test", ...(status === undefined ? {} : { status }) })
