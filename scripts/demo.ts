// `npm run demo`: starts the in-repo fake ConTree API, then drives the built server over stdio
// with the MCP SDK client, the way Claude Code or Codex would. Needs no token and no network.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { startFakeContreeApi } from "../test/fake/FakeContreeApi.js"

const fake = await startFakeContreeApi()
const home = mkdtempSync(join(tmpdir(), "contree-demo-"))
const client = new Client({ name: "demo", version: "1" })
const show = (title: string, value: unknown) => process.stdout.write(`\n## ${title}\n${JSON.stringify(value, null, 2)}\n`)
try {
  await client.connect(new StdioClientTransport({
    command: process.execPath,
    args: [resolve(import.meta.dirname, "../dist/bin.js")],
    env: { PATH: process.env["PATH"] ?? "", HOME: home, CONTREE_MCP_URL: fake.url, CONTREE_MCP_TOKEN: fake.token }
  }))
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })).structuredContent
  show("tools", (await client.listTools()).tools.map((t) => t.name))
  const run = await call("contree_run", { image: "tag:busybox:latest", command: "echo built > /root/artifact; cat /etc/os-release", disposable: false }) as Record<string, unknown>
  show("contree_run (disposable=false)", run)
  show("contree_read_file on the new image", await call("contree_read_file", { image: run["result_image"], path: "/root/artifact" }))
} finally {
  await client.close()
  await fake.close()
  rmSync(home, { recursive: true, force: true })
}
