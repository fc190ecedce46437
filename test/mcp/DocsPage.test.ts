import { describe, it, expect } from "vitest"
import { type DocsPageInput, renderDocsPage } from "../../src/mcp/DocsPage.js"

const mcpUrl = "http://127.0.0.1:9452/mcp"

const input: DocsPageInput = {
  serverName: "contree-mcp",
  version: "1.2.3",
  mcpUrl,
  instructions: "# Using ConTree\n\n```sh\ncontree run\n```\n\n<div onclick=\"x\">raw</div>\n",
  tools: [
    {
      name: "contree_run",
      title: "Run a command",
      description: "Runs `cmd` in a **fresh** sandbox.\n\nSecond paragraph stays out of the table.",
      annotations: { destructiveHint: true },
      inputSchema: {
        type: "object",
        properties: {
          command: { type: "string", description: "Shell command" },
          timeout: { anyOf: [{ type: "number" }, { type: "null" }], default: 30, description: "Seconds" },
          mode: { type: "string", enum: ["fast", "safe"] },
          files: { type: "array", items: { type: "string" } },
          image: { $ref: "#/$defs/ImageRef" }
        },
        required: ["command"]
      }
    },
    {
      name: "contree_get_image",
      description: "Shows an image <script>alert(1)</script>",
      annotations: { readOnlyHint: true },
      inputSchema: { type: "object", properties: {} }
    },
    { name: "<script>evil</script>", description: "bad name", inputSchema: {} }
  ],
  resourceTemplates: [
    { name: "operation", uriTemplate: "contree://operation/{id}", description: "One operation" },
    { name: "image", uriTemplate: "contree://image/{ref}", description: "One image" }
  ],
  resources: [
    { uri: "contree://guide/quickstart", name: "quickstart", title: "Quickstart", content: "## Start here\n\nRun `it`." }
  ],
  prompts: [
    {
      name: "prepare_environment",
      description: "Builds an image",
      arguments: [
        { name: "task", description: "What to do", required: true },
        { name: "base", description: "Base image", required: false, default: "ubuntu:24.04" }
      ]
    }
  ]
}

const page = renderDocsPage(input)

/** The table row of the tool whose rendered name cell starts with `name`. */
const toolRow = (name: string): string => {
  const start = page.indexOf(`<tr><td><code>${name}</code>`)
  expect(start).toBeGreaterThan(-1)
  return page.slice(start, page.indexOf("</tr>", start))
}

describe("renderDocsPage", () => {
  it("is a complete HTML page with a title", () => {
    expect(page.startsWith("<!doctype html>")).toBe(true)
    expect(page).toContain("<title>ConTree MCP Server</title>")
    expect(page).toContain("</html>")
    expect(page).toContain("prefers-color-scheme")
    expect(page).not.toMatch(/<script|<link|src=/)
  })

  it("has every section, linked from the nav", () => {
    for (const id of ["setup", "instructions", "tools", "resources", "prompts", "guides"]) {
      expect(page).toContain(`<section id="${id}">`)
      expect(page).toContain(`href="#${id}"`)
    }
  })

  it("sorts tools by name", () => {
    const positions = ["&lt;script&gt;evil&lt;/script&gt;", "contree_get_image", "contree_run"].map((name) =>
      page.indexOf(`<tr><td><code>${name}</code>`)
    )
    expect(positions.every((p) => p > -1)).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
  })

  it("shows the title, badges and first description paragraph with inline markdown", () => {
    const run = toolRow("contree_run")
    expect(run).toContain("Run a command")
    expect(run).toContain("destructive")
    expect(run).toContain("<code>cmd</code>")
    expect(run).toContain("<strong>fresh</strong>")
    expect(run).not.toContain("Second paragraph")
    expect(toolRow("contree_get_image")).toContain("read-only")
  })

  it("renders parameter types, required markers and defaults", () => {
    const run = toolRow("contree_run")
    expect(run).toMatch(/<code>command<\/code> <span class="type">string<\/span> <span class="badge required">/)
    expect(run).toMatch(/<code>timeout<\/code> <span class="type">number<\/span> <span class="default">default: <code>30<\/code>/)
    expect(run).toContain(`<code>mode</code> <span class="type">&quot;fast&quot; | &quot;safe&quot;</span>`)
    expect(run).toContain(`<code>files</code> <span class="type">array[string]</span>`)
    expect(run).toContain(`<code>image</code> <span class="type">ImageRef</span>`)
    expect(run).not.toMatch(/<code>timeout<\/code>[^<]*<span class="type">[^<]*<\/span> <span class="badge required">/)
    expect(run).toContain("Shell command")
  })

  it("escapes data in names and descriptions", () => {
    expect(page).not.toContain("<script>")
    expect(page).toContain("Shows an image &lt;script&gt;alert(1)&lt;/script&gt;")
    expect(page).toContain("<code>&lt;script&gt;evil&lt;/script&gt;</code>")
  })

  it("renders markdown and escapes raw HTML in it", () => {
    expect(page).toContain("<h1>Using ConTree</h1>")
    expect(page).toMatch(/<pre><code class="language-sh">contree run\n<\/code><\/pre>/)
    expect(page).toContain("&lt;div onclick=&quot;x&quot;&gt;raw&lt;/div&gt;")
    expect(page).not.toContain("<div onclick")
  })

  it("lists resource templates sorted, prompts with arguments, and guides", () => {
    expect(page.indexOf("contree://image/{ref}")).toBeLessThan(page.indexOf("contree://operation/{id}"))
    expect(page).toMatch(/<code>task<\/code> <span class="badge required">required<\/span> — What to do/)
    expect(page).toContain(`<code>base</code> <span class="default">default: <code>ubuntu:24.04</code></span>`)
    expect(page).toMatch(/<details><summary><code>contree:\/\/guide\/quickstart<\/code> — Quickstart<\/summary>/)
    expect(page).toContain("<h2>Start here</h2>")
  })

  it("has setup snippets, including ones for this server's URL", () => {
    expect(page).toContain("claude mcp add --transport stdio contree -- npx -y contree-mcp")
    expect(page).toContain(`claude mcp add --transport http contree ${mcpUrl}`)
    expect(page).toContain("[mcp_servers.contree]")
    expect(page).toContain(`&quot;url&quot;: &quot;${mcpUrl}&quot;`)
    expect(page).toContain("&quot;mcpServers&quot;")
    expect(page).toContain("~/.config/contree/mcp.ini")
    expect(page).toContain("token = &lt;TOKEN&gt;")
  })
})
