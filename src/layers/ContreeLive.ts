import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, Option } from "effect"
import type { ContreeCache } from "../services/ContreeCache.js"
import type { LocalEngineError } from "../local/LocalEngineError.js"
import type { ContreeClient } from "../services/ContreeClient.js"
import type { FileSync } from "../services/FileSync.js"
import type { HostFileStore } from "../services/HostFileStore.js"
import { ContreeConfig, type ContreeConfigShape } from "../services/ContreeConfig.js"
import type { OperationWaiter } from "../services/OperationWaiter.js"
import type { RegistryAuth } from "../services/RegistryAuth.js"
import { CachePruning } from "./CachePruning.js"
import { ContreeCacheSqlite } from "./ContreeCacheSqlite.js"
import { ContreeClientLive } from "./ContreeClientLive.js"
import { ContreeClientLocal, HostFileStoreLocal } from "./ContreeClientLocal.js"
import { ContreeClientMemo } from "./ContreeClientMemo.js"
import { FileSyncSqlite } from "./FileSyncSqlite.js"
import { LocalEngineConfigured } from "./LocalEngineConfigured.js"
import { OperationCompletionLocal } from "./OperationCompletionLocal.js"
import { OperationCompletionEvents } from "./OperationCompletionEvents.js"
import { OperationWaiterNotified } from "./OperationWaiterLive.js"
import { RegistryAuthLive } from "./RegistryAuthLive.js"

export type ContreeServices = ContreeClient | ContreeCache | FileSync | OperationWaiter | RegistryAuth | ContreeConfig

/**
 * The backend behind `ContreeClient`, with the waiter that suits it: the ConTree cloud over HTTP,
 * followed by its event stream (and polling); or the embedded engine, which also announces completions (and import
 * progress), so waits on it need no polling. A local engine that cannot start (no bubblewrap, say)
 * stops the server with its reason: serving tools that can never work would hide it.
 */
const backendLayers = (config: ContreeConfigShape): {
  readonly client: Layer.Layer<ContreeClient, LocalEngineError, ContreeConfig> | Layer.Layer<ContreeClient | HostFileStore, LocalEngineError, ContreeConfig>
  readonly waiter: Layer.Layer<OperationWaiter, LocalEngineError, ContreeClient | ContreeCache | ContreeConfig>
} => {
  if (config.backend === "cloud") {
    return {
      client: ContreeClientMemo().pipe(Layer.provide(ContreeClientLive), Layer.provide(FetchHttpClient.layer)),
      // The event stream where the server has one; polling alongside, and instead where it has none.
      waiter: OperationWaiterNotified.pipe(Layer.provide(OperationCompletionEvents), Layer.provide(FetchHttpClient.layer))
    }
  }
  // One engine for both: a layer is built once per composition, however often it is provided.
  const engine = LocalEngineConfigured(config)
  return {
    // The engine is on this machine: contree_rsync stores host files through it in bulk.
    client: Layer.merge(ContreeClientLocal, HostFileStoreLocal).pipe(Layer.provide(engine)),
    waiter: OperationWaiterNotified.pipe(Layer.provide(OperationCompletionLocal), Layer.provide(engine))
  }
}

/** A database that cannot be opened (read-only home, say) degrades to memory instead of stopping the server. */
const orInMemory = <A, E extends { readonly message: string }, R>(
  open: (filename: string) => Layer.Layer<A, E, R>,
  filename: string,
  consequence: string
) =>
  open(filename).pipe(
    Layer.catchAll((error) =>
      Layer.effectDiscard(Effect.logWarning(`${error.message}; ${consequence}`)).pipe(Layer.provideMerge(open(":memory:")))
    ),
    Layer.orDie
  )

const cacheLayer = (filename: string) => orInMemory(ContreeCacheSqlite, filename, "using an in-memory cache for this session")

const warnWithoutToken = Layer.effectDiscard(
  Effect.flatMap(ContreeConfig, (config) =>
    config.backend === "cloud" && Option.isNone(config.token)
      ? Effect.logWarning(
        "no ConTree token is configured: put `token = <TOKEN>` under [DEFAULT] in ~/.config/contree/mcp.ini " +
          "(or in a profile of ~/.config/contree/auth.ini, or set CONTREE_TOKEN). Tools that need the API will say so until then."
      )
      : Effect.void)
)

/** Every service the tools need, for the given configuration. This is the one composition of the app. */
export const ContreeLive = (config: ContreeConfigShape): Layer.Layer<ContreeServices, LocalEngineError> => {
  const Config = Layer.succeed(ContreeConfig, config)
  const backend = backendLayers(config)
  const Backend = Layer.mergeAll(backend.client, cacheLayer(config.cacheGeneral))
  const Registry = RegistryAuthLive.pipe(Layer.provide(FetchHttpClient.layer))
  const Files = orInMemory(FileSyncSqlite, config.cacheFiles, "directory states will last only for this session")
  return Layer.mergeAll(backend.waiter, CachePruning, warnWithoutToken, Registry, Files).pipe(
    Layer.provideMerge(Backend),
    Layer.provideMerge(Config)
  )
}
