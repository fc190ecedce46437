/**
 * Runs the fake ConTree API standalone, e.g. for manual testing of a client:
 *   npx vite-node test/fake/main.ts -- --port 8089 [--token T] [--gzip] [--pending-ms N] [--executing-ms N]
 *     [--generation current|legacy|both]
 * Prints the service URL (clients append /v1) and the token, then serves until interrupted.
 */
import { parseArgs } from "node:util"
import { type FakeContreeApiOptions, startFakeContreeApi } from "./FakeContreeApi.js"

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    port: { type: "string", default: "8089" },
    token: { type: "string" },
    gzip: { type: "boolean", default: false },
    "pending-ms": { type: "string" },
    "executing-ms": { type: "string" },
    generation: { type: "string" }
  }
})

const options: FakeContreeApiOptions = { port: Number(values.port), gzip: values.gzip }
if (values.token !== undefined) options.token = values.token
if (values["pending-ms"] !== undefined) options.pendingMs = Number(values["pending-ms"])
if (values["executing-ms"] !== undefined) options.executingMs = Number(values["executing-ms"])
const generation = values.generation
if (generation !== undefined) {
  if (generation !== "current" && generation !== "legacy" && generation !== "both") throw new Error(`--generation: current, legacy or both; got ${generation}`)
  options.generation = generation
}

const api = await startFakeContreeApi(options)
process.stdout.write(`CONTREE_URL=${api.url}\nCONTREE_TOKEN=${api.token}\n`)

const shutdown = (): void => {
  void api.close().then(() => process.exit(0))
}
process.once("SIGINT", shutdown)
process.once("SIGTERM", shutdown)
