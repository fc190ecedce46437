import { Context, Effect } from "effect"

/** Per-call facilities the MCP adapter gives a running tool. */
export class ToolContext extends Context.Tag("contree/ToolContext")<ToolContext, {
  /** Sends an MCP progress notification when the client asked for them; a no-op otherwise. */
  readonly progress: (progress: number, total?: number, message?: string) => Effect.Effect<void>
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
