import { spawn } from "node:child_process"
import { median } from "./stats.js"

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } }
}) + "\n"

/** Milliseconds from spawning `command` to the first line of its initialize response. */
const once = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "ignore"] })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      if (out.includes("\n")) {
        const elapsed = performance.now() - started
        child.stdin.end()
        child.once("exit", () => resolve(elapsed))
      }
    })
    child.once("error", reject)
    child.stdin.write(initialize)
  })

/** Median start-up time over `runs` cold starts, alternating with nothing else running. */
export const startupMedian = async (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, runs = 10) => {
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) times.push(await once(command, args, env))
  return median(times)
}
