import { Marked } from "marked"

/** What the `GET /` documentation page shows: the same registry the MCP server serves. */
export interface DocsPageInput {
  readonly serverName: string
  readonly version: string
  readonly mcpUrl: string
  /** Markdown. */
  readonly instructions: string
  readonly tools: ReadonlyArray<{
    readonly name: string
    readonly title?: string | undefined
    readonly description: string
    readonly inputSchema: { readonly [k: string]: unknown }
    readonly annotations?:
      | { readonly readOnlyHint?: boolean | undefined; readonly destructiveHint?: boolean | undefined }
      | undefined
  }>
  readonly resourceTemplates: ReadonlyArray<{
    readonly name: string
    readonly uriTemplate: string
    readonly description: string
  }>
  readonly resources: ReadonlyArray<{
    readonly uri: string
    readonly name: string
    readonly title?: string | undefined
    /** Markdown. */
    readonly content: string
  }>
  readonly prompts: ReadonlyArray<{
    readonly name: string
    readonly description: string
    readonly arguments: ReadonlyArray<{
      readonly name: string
      readonly description: string
      readonly required: boolean
      readonly default?: string | undefined
    }>
  }>
}

const escapeHtml = (text: string): string =>
  text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll("\"", "&quot;")
    .replaceAll("'", "&#39;")

// Our markdown is trusted, but raw HTML in it is shown as text so a stray tag can never become live markup.
const markdown = new Marked({ renderer: { html: ({ text }) => escapeHtml(text) } })

const renderMarkdown = (text: string): string => markdown.parse(text, { async: false })

const renderInlineMarkdown = (text: string): string => markdown.parseInline(text, { async: false })

const byName = <A extends { readonly name: string }>(items: ReadonlyArray<A>): ReadonlyArray<A> =>
  [...items].sort((a, b) => a.name.localeCompare(b.name))

const isRecord = (value: unknown): value is { readonly [k: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isNullSchema = (schema: unknown): boolean => isRecord(schema) && schema["type"] === "null"

/** A one-glance type for a JSON Schema; optionality is shown by the required marker, so `null` is dropped. */
const schemaType = (schema: unknown): string => {
  if (!isRecord(schema)) return "any"
  const ref = schema["$ref"]
  if (typeof ref === "string") return ref.split("/").at(-1) ?? ref
  const values = schema["enum"]
  if (Array.isArray(values)) return values.map((value) => JSON.stringify(value)).join(" | ")
  const union = schema["anyOf"] ?? schema["oneOf"]
  if (Array.isArray(union)) {
    const variants = union.filter((variant) => !isNullSchema(variant))
    return variants.length === 0 ? "null" : variants.map(schemaType).join(" | ")
  }
  const type = schema["type"]
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== "null")
    return types.length === 0 ? "null" : types.map((t) => schemaType({ ...schema, type: t })).join(" | ")
  }
  if (type === "array") return `array[${schemaType(schema["items"])}]`
  return typeof type === "string" ? type : "any"
}

const badge = (label: string, kind: string): string => `<span class="badge ${kind}">${escapeHtml(label)}</span>`

const requiredMark = badge("required", "required")

const defaultMark = (value: string): string => `<span class="default">default: <code>${escapeHtml(value)}</code></span>`

const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<string>): string =>
  `<table><thead><tr>${headers.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("\n")}</tbody></table>`

const codeBlock = (title: string, code: string): string =>
  `<h3>${escapeHtml(title)}</h3>\n<pre><code>${escapeHtml(code)}</code></pre>`

const stdioServer = { command: "npx", args: ["-y", "contree-mcp"] }

const renderSetup = (mcpUrl: string): string =>
  [
    codeBlock("Claude Code (stdio)", "claude mcp add --transport stdio contree -- npx -y contree-mcp"),
    codeBlock("Claude Code (this HTTP server)", `claude mcp add --transport http contree ${mcpUrl}`),
    codeBlock(
      "Codex CLI — ~/.codex/config.toml",
      `[mcp_servers.contree]\ncommand = "npx"\nargs = ["-y", "contree-mcp"]`
    ),
    codeBlock(
      "Claude Desktop — claude_desktop_config.json",
      JSON.stringify({ mcpServers: { contree: stdioServer } }, null, 2)
    ),
    codeBlock("Cursor — ~/.cursor/mcp.json (stdio)", JSON.stringify({ mcpServers: { contree: stdioServer } }, null, 2)),
    codeBlock(
      "Cursor — ~/.cursor/mcp.json (this HTTP server)",
      JSON.stringify({ mcpServers: { contree: { url: mcpUrl } } }, null, 2)
    ),
    codeBlock("Credentials — ~/.config/contree/mcp.ini", "[DEFAULT]\nurl = https://contree.dev/\ntoken = <TOKEN>")
  ].join("\n")

const renderParameters = (inputSchema: DocsPageInput["tools"][number]["inputSchema"]): string => {
  const properties = isRecord(inputSchema["properties"]) ? inputSchema["properties"] : {}
  const required = Array.isArray(inputSchema["required"]) ? inputSchema["required"] : []
  const items = Object.entries(properties).map(([name, schema]) => {
    const description = isRecord(schema) && typeof schema["description"] === "string" ? schema["description"] : ""
    const fallback = isRecord(schema) && "default" in schema ? defaultMark(JSON.stringify(schema["default"])) : ""
    return `<li><code>${escapeHtml(name)}</code> <span class="type">${escapeHtml(schemaType(schema))}</span>${
      required.includes(name) ? ` ${requiredMark}` : ""
    }${fallback ? ` ${fallback}` : ""}${description ? ` — ${escapeHtml(description)}` : ""}</li>`
  })
  return items.length === 0 ? "<em>none</em>" : `<ul class="params">${items.join("")}</ul>`
}

const firstParagraph = (text: string): string => text.trim().split(/\n\s*\n/)[0] ?? ""

const renderTools = (tools: DocsPageInput["tools"]): string =>
  table(
    ["Tool", "Description", "Parameters"],
    byName(tools).map((tool) => {
      const badges = [
        tool.annotations?.readOnlyHint ? badge("read-only", "read-only") : "",
        tool.annotations?.destructiveHint ? badge("destructive", "destructive") : ""
      ].join(" ")
      const title = tool.title ? `<div class="title">${escapeHtml(tool.title)}</div>` : ""
      return `<tr><td><code>${escapeHtml(tool.name)}</code>${title}${badges}</td><td>${
        renderInlineMarkdown(firstParagraph(tool.description))
      }</td><td>${renderParameters(tool.inputSchema)}</td></tr>`
    })
  )

const renderResourceTemplates = (templates: DocsPageInput["resourceTemplates"]): string =>
  table(
    ["Name", "URI template", "Description"],
    byName(templates).map((t) =>
      `<tr><td>${escapeHtml(t.name)}</td><td><code>${escapeHtml(t.uriTemplate)}</code></td><td>${
        escapeHtml(t.description)
      }</td></tr>`
    )
  )

const renderPrompts = (prompts: DocsPageInput["prompts"]): string =>
  table(
    ["Prompt", "Description", "Arguments"],
    byName(prompts).map((prompt) => {
      const args = prompt.arguments.map((arg) =>
        `<li><code>${escapeHtml(arg.name)}</code>${arg.required ? ` ${requiredMark}` : ""}${
          arg.default === undefined ? "" : ` ${defaultMark(arg.default)}`
        } — ${escapeHtml(arg.description)}</li>`
      )
      return `<tr><td><code>${escapeHtml(prompt.name)}</code></td><td>${escapeHtml(prompt.description)}</td><td>${
        args.length === 0 ? "<em>none</em>" : `<ul class="params">${args.join("")}</ul>`
      }</td></tr>`
    })
  )

const renderGuides = (resources: DocsPageInput["resources"]): string =>
  resources
    .map((resource) =>
      `<details><summary><code>${escapeHtml(resource.uri)}</code>${
        resource.title ? ` — ${escapeHtml(resource.title)}` : ""
      }</summary><div class="markdown">${renderMarkdown(resource.content)}</div></details>`
    )
    .join("\n")

const style = `
:root { color-scheme: light dark; --fg: #1d1f23; --bg: #ffffff; --muted: #5c6370; --line: #d8dbe0; --code: #f3f4f6; --accent: #2457c5; --ok: #1f7a3a; --warn: #b42318; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #16181d; --muted: #9aa1ad; --line: #30343c; --code: #22252c; --accent: #7aa2f7; --ok: #6bc485; --warn: #f97066; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 1.25rem; }
header h1 { margin: 1.5rem 0 0.25rem; }
header p { margin: 0; color: var(--muted); }
nav { position: sticky; top: 0; background: var(--bg); border-bottom: 1px solid var(--line); padding: 0.6rem 1.25rem; text-align: center; }
nav a { margin: 0 0.6rem; }
a { color: var(--accent); }
section { margin: 2rem 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
code { background: var(--code); padding: 0.1em 0.3em; border-radius: 4px; }
pre { background: var(--code); padding: 0.75rem 1rem; border-radius: 6px; overflow-x: auto; }
pre code { padding: 0; background: none; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem; border-bottom: 1px solid var(--line); }
.title { color: var(--muted); font-size: 0.9em; }
.params { margin: 0; padding-left: 1.1rem; }
.type { color: var(--accent); font-family: ui-monospace, monospace; font-size: 0.85em; }
.default { color: var(--muted); font-size: 0.85em; }
.badge { display: inline-block; font-size: 0.75em; padding: 0 0.4em; border: 1px solid currentColor; border-radius: 999px; }
.read-only { color: var(--ok); }
.destructive, .required { color: var(--warn); }
details { border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 1rem; margin: 0.5rem 0; }
summary { cursor: pointer; }
`

/** The self-contained HTML documentation page served at `GET /` in HTTP mode. */
export const renderDocsPage = (input: DocsPageInput): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ConTree MCP Server</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>ConTree MCP Server</h1>
<p><code>${escapeHtml(input.serverName)}</code> ${escapeHtml(input.version)} · MCP endpoint <code>${escapeHtml(input.mcpUrl)}</code></p>
</header>
<nav><a href="#setup">Setup</a><a href="#instructions">Instructions</a><a href="#tools">Tools</a><a href="#resources">Resources</a><a href="#prompts">Prompts</a><a href="#guides">Guides</a></nav>
<main>
<section id="setup"><h2>Setup</h2>
${renderSetup(input.mcpUrl)}
</section>
<section id="instructions"><h2>Instructions</h2>
<div class="markdown">${renderMarkdown(input.instructions)}</div>
</section>
<section id="tools"><h2>Tools</h2>
${renderTools(input.tools)}
</section>
<section id="resources"><h2>Resources</h2>
${renderResourceTemplates(input.resourceTemplates)}
</section>
<section id="prompts"><h2>Prompts</h2>
${renderPrompts(input.prompts)}
</section>
<section id="guides"><h2>Guides</h2>
${renderGuides(input.resources)}
</section>
</main>
</body>
</html>
`
