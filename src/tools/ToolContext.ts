import { Context, type Effect } from "effect"

/** Per-call facilities the MCP adapter gives a running tool. */
export class ToolContext extends Context.Tag("contree/ToolContext")<ToolContext, {
  /** Sends an MCP progress notification when the client asked for them; a no-op otherwise. */
  readonly progress: (progress: number, total?: number, message?: string) => Effect.Effect<void>
}>() {}
