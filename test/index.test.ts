import { assert, describe, it } from "@effect/vitest"
import * as Library from "../src/index.js"

describe("the library's public surface", () => {
  it("exports the services, layers, engine and tools the README documents", () => {
    for (
      const name of [
        "ContreeClient",
        "ContreeClientLive",
        "ContreeClientLocal",
        "ContreeCache",
        "ContreeCacheSqlite",
        "FileSync",
        "FileSyncSqlite",
        "OperationWaiter",
        "OperationWaiterLive",
        "OperationWaiterNotified",
        "OperationCompletion",
        "RegistryAuth",
        "RegistryAuthLive",
        "ContreeConfig",
        "RetryPolicy",
        "ContreeLive",
        "LocalEngine",
        "LocalEngineLive",
        "LocalEngineConfigured",
        "ContreeApiError",
        "ContreeApi",
        "OperationCompletionEvents",
        "ToolError",
        "allTools",
        "defineTool",
        "serve",
        "Image",
        "Operation",
        "SpawnRequest"
      ]
    ) assert.isDefined((Library as Record<string, unknown>)[name], name)
  })

  it("keeps internals out: the CLI parser and helpers of single modules", () => {
    for (const name of ["parseCli", "makeFileSync", "reasonForStatus", "operationListItems", "patPageOf", "retryWhile"]) {
      assert.notProperty(Library, name)
    }
  })
})
