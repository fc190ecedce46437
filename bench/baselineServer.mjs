// The baseline for the start-up and round-trip figures: a bare SDK server with one no-op tool.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"

const server = new McpServer({ name: "baseline", version: "1.0.0" })
server.registerTool("noop", { description: "Does nothing" }, () => ({ content: [{ type: "text", text: "ok" }] }))
await server.connect(new StdioServerTransport())
process.stdin.once("end", () => process.exit(0))
