/**
 * The fake's routing, derived from the API's one definition (`src/api/ContreeApi.ts`): each
 * route names the endpoint it answers, and the endpoint's method and path (`/images/:uuid/tag`)
 * decide which requests reach it. The simulation behind the handlers stays the fake's own.
 */
import type { HttpApiEndpoint } from "@effect/platform"
import { ApiError, type ApiRequest, type Reply, errorReply } from "./http.js"

export type PathParams = Readonly<Record<string, string | undefined>>

/** An endpoint of the definition, or a hand-written route described beside it (`operationEvents`). */
export type RouteEndpoint = HttpApiEndpoint.HttpApiEndpoint.Any | { readonly method: string; readonly path: string }

export interface Route {
  readonly endpoint: RouteEndpoint
  readonly handle: (request: ApiRequest, params: PathParams) => Reply | Promise<Reply>
}

export const route = (endpoint: RouteEndpoint, handle: Route["handle"]): Route => ({ endpoint, handle })

interface CompiledRoute {
  readonly method: string
  readonly pattern: RegExp
  readonly names: ReadonlyArray<string>
  readonly handle: Route["handle"]
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** `/inspect/:uuid/` → `^/inspect/([^/]+)/$`: one segment per parameter, the trailing slash significant, case-sensitive. */
const compile = ({ endpoint, handle }: Route): CompiledRoute => {
  const { method, path } = endpoint as unknown as { readonly method: string; readonly path: string }
  const names: Array<string> = []
  const source = path.split(/(:\w+)/).map((part) => {
    if (!part.startsWith(":")) return escape(part)
    names.push(part.slice(1))
    return "([^/]+)"
  }).join("")
  return { method, pattern: new RegExp(`^${source}$`), names, handle }
}

/** Answers a request with the first route whose endpoint matches; HEAD falls back to the GET of the same path. */
export const makeDispatcher = (routes: ReadonlyArray<Route>) => {
  const compiled = routes.map(compile)
  const find = (method: string, path: string) => {
    for (const candidate of compiled) {
      if (candidate.method !== method) continue
      const match = candidate.pattern.exec(path)
      if (match !== null) return { candidate, values: match.slice(1) }
    }
    return undefined
  }
  return async (method: string, request: ApiRequest): Promise<Reply> => {
    const found = find(method, request.path) ?? (method === "HEAD" ? find("GET", request.path) : undefined)
    if (found === undefined) return errorReply(404, "Not found")
    let params: Record<string, string>
    try {
      params = Object.fromEntries(found.candidate.names.map((name, i) => [name, decodeURIComponent(found.values[i] ?? "")]))
    } catch {
      return errorReply(400, "malformed path")
    }
    try {
      return await found.candidate.handle(request, params)
    } catch (error) {
      if (error instanceof ApiError) return errorReply(error.status, error.message)
      return errorReply(500, error instanceof Error ? error.message : String(error))
    }
  }
}
