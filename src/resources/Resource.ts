import type { Effect } from "effect"
import type { ToolServices } from "../tools/Tool.js"
import type { ToolContext } from "../tools/ToolContext.js"
import type { ToolError } from "../tools/ToolError.js"

/** Resources are read outside any tool call, so they get no ToolContext. */
export type ResourceServices = Exclude<ToolServices, ToolContext>

/** A fixed resource, listed by `resources/list`. */
export interface StaticResource {
  readonly uri: string
  readonly name: string
  readonly title: string
  readonly description: string
  readonly mimeType: string
  readonly read: Effect.Effect<string, ToolError, ResourceServices>
}

/** A URI template, listed by `resources/templates/list` and matched on `resources/read`. */
export interface ResourceTemplate {
  readonly name: string
  readonly title: string
  readonly uriTemplate: string
  readonly description: string
  readonly mimeType: string
  readonly read: (params: Readonly<Record<string, string>>) => Effect.Effect<string, ToolError, ResourceServices>
}

/**
 * Matches a URI against an RFC 6570 level-1 template. Every `{param}` matches one path segment,
 * except a final `{path}`, which takes the rest including slashes (so `etc/passwd` needs no encoding).
 * Values are percent-decoded.
 */
export const matchTemplate = (template: string, uri: string): Record<string, string> | undefined => {
  const names: Array<string> = []
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}(\$?)/g, (_, name: string) => {
    names.push(name)
    return "\u0000"
  })
  const parts = pattern.split("\u0000")
  const source = parts.reduce(
    (acc, part, i) => acc + part + (i < names.length ? (names[i] === "path" && i === names.length - 1 ? "(.*)" : "([^/]+)") : ""),
    ""
  )
  const match = new RegExp(`^${source}$`).exec(uri)
  if (match === null) return undefined
  const params: Record<string, string> = {}
  names.forEach((name, i) => {
    const raw = match[i + 1] ?? ""
    try {
      params[name] = decodeURIComponent(raw)
    } catch {
      params[name] = raw
    }
  })
  return params
}
