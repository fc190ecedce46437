// `npm run demo`: the server's main job end to end, on the embedded local backend. It starts the
// built server over stdio with no token (so the local backend is chosen) and drives it with the
// MCP SDK client, the way Claude Code or Codex would: real sandboxes, no network needed.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const home = mkdtempSync(join(tmpdir(), "contree-demo-"))
const client = new Client({ name: "demo", version: "1" })
const show = (title: string, value: unknown) => process.stdout.write(`\n## ${title}\n${JSON.stringify(value, null, 2)}\n`)
const call = async (name: string, args: Record<string, unknown>) => {
  const result = await client.callTool({ name, arguments: args })
  if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`)
  return result.structuredContent as Record<string, unknown>
}
try {
  await client.connect(new StdioClientTransport({
    command: process.execPath,
    args: [resolve(import.meta.dirname, "../dist/bin.js"), "--data-dir", join(home, "data")],
    env: { PATH: process.env["PATH"] ?? "", HOME: home }
  }))
  show("contree_list_images", await call("contree_list_images", {}))
  const built = await call("contree_run", {
    image: "tag:busybox:latest",
    command: "mkdir -p /app && echo 'print(42)' > /app/main.py && rm -rf /usr/share && uname -sr && id -u",
    disposable: false
  })
  show("contree_run, disposable=false: a new image", built)
  show("contree_read_file on that image", await call("contree_read_file", { image: built["result_image"], path: "/app/main.py" }))
  const base = await call("contree_list_files", { image: "tag:busybox:latest", path: "/" })
  show("the base image is unchanged (its root has no /app)", (base["files"] as Array<{ name: string }>).map((f) => f.name))
  show("contree_run: delete everything in a sandbox", await call("contree_run", { image: built["result_image"], command: "rm -rf /* 2>/dev/null; echo \"left: $(ls / 2>&1)\"" }))
  show("...and the image it ran on is intact", await call("contree_read_file", { image: built["result_image"], path: "/app/main.py" }))
} finally {
  await client.close()
  rmSync(home, { recursive: true, force: true })
}
