#!/usr/bin/env node
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Either } from "effect"
import { readFileSync } from "node:fs"
import { parseCli } from "./cli/Cli.js"
import { doctor } from "./cli/doctor.js"
import { reportFailure, serve } from "./mcp/serve.js"
import { StderrLogger } from "./mcp/StderrLogger.js"

const readIfExists = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const parsed = parseCli(process.argv.slice(2), process.env, readIfExists)
if (Either.isLeft(parsed)) {
  process.stderr.write(`contree-mcp: ${parsed.left}\n`)
  process.exit(2)
}
const action = parsed.right
// Failures are reported by `serve` and `doctor` on stderr; runMain's own report would go to stdout.
const quiet = { disablePrettyLogger: true, disableErrorReporting: true }
switch (action._tag) {
  case "Serve":
    NodeRuntime.runMain(serve(action.config), quiet)
    break
  case "Doctor":
    NodeRuntime.runMain(reportFailure(doctor(action.config)).pipe(Effect.provide(StderrLogger(action.config.logLevel))), quiet)
    break
  case "ServeApi": {
    // Only this command needs the HTTP server stack: the MCP server starts without loading it.
    const { serveApi } = await import("./serve/serveApi.js")
    NodeRuntime.runMain(serveApi(action.config, action.api), quiet)
    break
  }
  default:
    process.stdout.write(`${action.text}\n`)
}
