// The only module that speaks MCP. It uses the SDK's low-level `Server` because `McpServer.registerTool`
// accepts only zod schemas, while our tool schemas are Effect Schemas turned into JSON Schema.
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, FiberId, FiberSet, Option } from "effect"
import { matchTemplate } from "../resources/Resource.js"
import type { ToolServices } from "../tools/Tool.js"
import { ToolContext } from "../tools/ToolContext.js"
import type { ToolError } from "../tools/ToolError.js"
import { serverName, version } from "../version.js"
import type { Registry } from "./Registry.js"

/** What the shared runtime provides to every request; ToolContext is added per call. */
export type ServerServices = Exclude<ToolServices, ToolContext>

type Runner = <A>(effect: Effect.Effect<A, ToolError, ServerServices>, signal?: AbortSignal) => Promise<Exit.Exit<A, ToolError>>

const errorText = (cause: Cause.Cause<ToolError>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error.message,
    onNone: () => Cause.isInterruptedOnly(cause) ? "The call was cancelled." : "Internal error; details are in the server log."
  })

const toCallResult = (exit: Exit.Exit<Record<string, unknown>, ToolError>): CallToolResult =>
  Exit.match(exit, {
    onSuccess: (structured) => ({ structuredContent: structured, content: [{ type: "text", text: JSON.stringify(structured) }] }),
    onFailure: (cause) => ({ isError: true, content: [{ type: "text", text: errorText(cause) }] })
  })

const toMcpError = <A>(exit: Exit.Exit<A, ToolError>): A =>
  Exit.match(exit, {
    onSuccess: (value) => value,
    onFailure: (cause) => {
      const failure = Cause.failureOption(cause)
      throw new McpError(
        Option.isSome(failure) && failure.value.reason === "InvalidInput" ? ErrorCode.InvalidParams : ErrorCode.InternalError,
        errorText(cause)
      )
    }
  })

/**
 * Builds MCP servers that share one runtime: every request runs as a fiber of this scope, so
 * closing the scope interrupts calls in flight, and a client's cancellation interrupts its call.
 * HTTP mode makes one server per session; stdio makes one.
 */
export const makeServerFactory = (registry: Registry) =>
  Effect.gen(function*() {
    const runFork = yield* FiberSet.makeRuntime<ServerServices>()
    const run: Runner = (effect, signal) =>
      new Promise((resolve) => {
        // The fiber itself always succeeds with the call's Exit, so failures are answers, not crashes.
        const fiber = runFork(
          effect.pipe(Effect.tapDefect((defect) => Effect.logError("request failed", Cause.pretty(Cause.die(defect)))), Effect.exit)
        )
        const abort = () => fiber.unsafeInterruptAsFork(FiberId.none)
        signal?.addEventListener("abort", abort, { once: true })
        fiber.addObserver((exit) => {
          signal?.removeEventListener("abort", abort)
          resolve(Exit.flatten(exit))
        })
      })

    const tools = new Map(registry.tools.map((tool) => [tool.name, tool]))
    const resources = new Map(registry.resources.map((resource) => [resource.uri, resource]))
    const prompts = new Map(registry.prompts.map((prompt) => [prompt.name, prompt]))

    return (): Server => {
      const server = new Server(
        { name: serverName, version, title: "ConTree" },
        {
          capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} },
          instructions: registry.instructions
        }
      )

      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: registry.tools.map((tool) => ({
          name: tool.name,
          title: tool.title,
          description: tool.description,
          inputSchema: tool.inputSchema,
          outputSchema: tool.outputSchema,
          annotations: tool.annotations
        }))
      }))

      server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        const tool = tools.get(request.params.name)
        if (tool === undefined) {
          return {
            isError: true,
            content: [{ type: "text", text: `Unknown tool '${request.params.name}'. Available tools: ${[...tools.keys()].join(", ")}` }]
          }
        }
        const progressToken = request.params._meta?.progressToken
        const context = ToolContext.of({
          progress: (progress, total, message) =>
            progressToken === undefined
              ? Effect.void
              : Effect.tryPromise(() =>
                extra.sendNotification({
                  method: "notifications/progress",
                  params: {
                    progressToken,
                    progress,
                    ...(total === undefined ? {} : { total }),
                    ...(message === undefined ? {} : { message })
                  }
                })
              ).pipe(Effect.ignore),
          wantsProgress: progressToken !== undefined
        })
        const exit = await run(Effect.provideService(tool.call(request.params.arguments), ToolContext, context), extra.signal)
        return toCallResult(exit)
      })

      server.setRequestHandler(ListResourcesRequestSchema, () => ({
        resources: registry.resources.map(({ description, mimeType, name, title, uri }) => ({ uri, name, title, description, mimeType }))
      }))

      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
        resourceTemplates: registry.resourceTemplates.map(({ description, mimeType, name, title, uriTemplate }) => ({
          uriTemplate,
          name,
          title,
          description,
          mimeType
        }))
      }))

      server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
        const uri = request.params.uri
        const fixed = resources.get(uri)
        if (fixed !== undefined) {
          const text = toMcpError(await run(fixed.read, extra.signal))
          return { contents: [{ uri, mimeType: fixed.mimeType, text }] }
        }
        for (const template of registry.resourceTemplates) {
          const params = matchTemplate(template.uriTemplate, uri)
          if (params === undefined) continue
          // A NUL byte (%00) in a path or a name would cut it short in the operating system.
          const withNul = Object.entries(params).find(([, value]) => value.includes("\0"))
          if (withNul !== undefined) throw new McpError(ErrorCode.InvalidParams, `${withNul[0]} must not contain NUL bytes`)
          const text = toMcpError(await run(template.read(params), extra.signal))
          return { contents: [{ uri, mimeType: template.mimeType, text }] }
        }
        throw new McpError(ErrorCode.InvalidParams, `Unknown resource '${uri}'. List them with resources/list and resources/templates/list.`)
      })

      server.setRequestHandler(ListPromptsRequestSchema, () => ({
        prompts: registry.prompts.map((prompt) => ({
          name: prompt.name,
          title: prompt.title,
          description: prompt.description,
          arguments: prompt.arguments.map(({ description, name, required }) => ({ name, description, required }))
        }))
      }))

      server.setRequestHandler(GetPromptRequestSchema, (request) => {
        const prompt = prompts.get(request.params.name)
        if (prompt === undefined) {
          throw new McpError(ErrorCode.InvalidParams, `Unknown prompt '${request.params.name}'. Available: ${[...prompts.keys()].join(", ")}`)
        }
        const args = request.params.arguments ?? {}
        // Blank counts as missing, as it does when the prompt renders.
        const missing = prompt.arguments.filter((arg) => arg.required && !args[arg.name]?.trim()).map((arg) => arg.name)
        if (missing.length > 0) {
          throw new McpError(ErrorCode.InvalidParams, `Prompt '${prompt.name}' needs the argument(s): ${missing.join(", ")}`)
        }
        return {
          description: prompt.description,
          messages: [{ role: "user", content: { type: "text", text: prompt.render(args) } }]
        }
      })

      return server
    }
  })
