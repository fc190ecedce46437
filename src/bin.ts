#!/usr/bin/env node
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Either } from "effect"
import { readFileSync } from "node:fs"
import { parseCli } from "./cli/Cli.js"
import { serve } from "./mcp/serve.js"

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
if (action._tag === "Serve") {
  NodeRuntime.runMain(serve(action.config), { disablePrettyLogger: true })
} else {
  process.stdout.write(`${action.text}\n`)
}
