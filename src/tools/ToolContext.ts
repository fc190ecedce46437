import { Clock, Context, Effect } from "effect"

/** Per-call facilities the MCP adapter gives a running tool. */
export class ToolContext extends Context.Tag("contree/ToolContext")<ToolContext, {
  /** Sends an MCP progress notification when the client asked for them; a no-op otherwise. */
  readonly progress: (progress: number, total?: number, message?: string) => Effect.Effect<void>
  /** Whether the client asked for progress (gave a progressToken): a tool may skip measuring it otherwise. */
  readonly wantsProgress: boolean
}>() {}

/**
 * A reporter that sends only values above the last one sent: MCP requires progress to increase,
 * and a wait may mix sources (elapsed seconds while queued, bytes once an import fetches).
 */
export const increasingProgress = (context: ToolContext["Type"]) => {
  let last = Number.NEGATIVE_INFINITY
  return (progress: number, total?: number, message?: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (!(progress > last)) return Effect.void
      last = progress
      return context.progress(progress, total, message)
    })
}

/** How much of each stream's end an output notification carries. */
const TAIL_CHARS = 1000

/**
 * The output of a waited run as MCP progress notifications: each carries the tail of stdout and
 * stderr so far, and they are coalesced to one per `everyMs` (output in between rides along with
 * the next one; the whole output is in the result anyway). `send` gets the message to report.
 */
export const outputFeed = (send: (message: string) => Effect.Effect<void>, everyMs = 250) => {
  const tails = { stdout: "", stderr: "" }
  let lastSent = Number.NEGATIVE_INFINITY
  return (chunk: { readonly stream: "stdout" | "stderr"; readonly text: string }): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      tails[chunk.stream] = (tails[chunk.stream] + chunk.text).slice(-TAIL_CHARS)
      if (now - lastSent < everyMs) return Effect.void
      lastSent = now
      const parts = (["stdout", "stderr"] as const).filter((name) => tails[name] !== "").map((name) => `${name}:\n${tails[name]}`)
      return send(parts.join("\n"))
    })
}
