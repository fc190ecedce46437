import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { LoggingLevel } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Layer, Logger, LogLevel } from "effect"
import type { LogLevelName } from "../services/ContreeConfig.js"

const minimum: Record<LogLevelName, LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  critical: LogLevel.Fatal
}

const mcpLevel = (level: LogLevel.LogLevel): LoggingLevel =>
  level._tag === "Fatal" ? "critical" : level._tag === "Warning" ? "warning" : level._tag === "Error" ? "error" : level._tag === "Info" ? "info" : "debug"

const render = (message: unknown, cause: Cause.Cause<unknown>) => {
  const parts = (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m)))
  if (!Cause.isEmpty(cause)) parts.push(Cause.pretty(cause))
  return parts.join(" ")
}

/**
 * Logs to stderr only (stdout is the protocol), as `[LEVEL] message`, and forwards each entry to
 * the connected MCP clients as a logging notification (the SDK drops it below a client's level).
 */
export const StderrLogger = (level: LogLevelName, mcpServers: ReadonlySet<Server> = new Set()) => {
  const logger = Logger.make(({ cause, logLevel, message }) => {
    const text = render(message, cause)
    process.stderr.write(`[${logLevel.label}] ${text}\n`)
    for (const server of mcpServers) {
      // The session id lets the SDK apply the level that client chose with logging/setLevel.
      server.sendLoggingMessage({ level: mcpLevel(logLevel), logger: "contree-mcp", data: text }, server.transport?.sessionId)
        .catch(() => undefined)
    }
  })
  return Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(minimum[level]))
}
