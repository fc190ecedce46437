/**
 * Test doubles for embedders and for this project's own tests.
 * @since 0.1.0
 */
import { type Context, Effect, Layer } from "effect"
import { ContreeCacheSqlite } from "./layers/ContreeCacheSqlite.js"
import { FileSyncSqlite } from "./layers/FileSyncSqlite.js"
import { OperationWaiterLive } from "./layers/OperationWaiterLive.js"
import type { ContreeCache } from "./services/ContreeCache.js"
import { ContreeClient } from "./services/ContreeClient.js"
import type { FileSync } from "./services/FileSync.js"
import { OperationWaiter } from "./services/OperationWaiter.js"
import { RegistryAuth } from "./services/RegistryAuth.js"
import { ToolContext } from "./tools/ToolContext.js"

/** A ConTree client whose unimplemented methods die when called. @since 0.1.0 */
export const ContreeClientTest = (methods: Partial<Context.Tag.Service<typeof ContreeClient>>): Layer.Layer<ContreeClient> =>
  Layer.mock(ContreeClient, methods)

/** An operation waiter whose unimplemented methods die when called. @since 0.1.0 */
export const OperationWaiterTest = (methods: Partial<Context.Tag.Service<typeof OperationWaiter>>): Layer.Layer<OperationWaiter> =>
  Layer.mock(OperationWaiter, methods)

/** A registry-auth service whose unimplemented methods die when called. @since 0.1.0 */
export const RegistryAuthTest = (methods: Partial<Context.Tag.Service<typeof RegistryAuth>>): Layer.Layer<RegistryAuth> =>
  Layer.mock(RegistryAuth, methods)

/** A fresh in-memory cache. @since 0.1.0 */
export const ContreeCacheTest: Layer.Layer<ContreeCache> = Layer.orDie(ContreeCacheSqlite(":memory:"))

/** A fresh in-memory file sync over the provided client. @since 0.1.0 */
export const FileSyncTest: Layer.Layer<FileSync, never, ContreeClient> = Layer.orDie(FileSyncSqlite(":memory:"))

/** A tool context that sends no progress. @since 0.1.0 */
export const ToolContextTest: Layer.Layer<ToolContext> = Layer.succeed(ToolContext, ToolContext.of({ progress: () => Effect.void, wantsProgress: false }))

/** Everything a tool needs over a mocked client: the real waiter, an in-memory cache and file sync. @since 0.1.0 */
export const ToolServicesTest = (
  client: Partial<Context.Tag.Service<typeof ContreeClient>>,
  registry: Partial<Context.Tag.Service<typeof RegistryAuth>> = {}
) =>
  Layer.mergeAll(OperationWaiterLive, ToolContextTest, RegistryAuthTest(registry), FileSyncTest).pipe(
    Layer.provideMerge(Layer.merge(ContreeClientTest(client), ContreeCacheTest))
  )
