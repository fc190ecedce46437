import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js"
import { Effect, JSONSchema, ParseResult, Schema } from "effect"
import type { CacheError, ContreeCache } from "../services/ContreeCache.js"
import type { ContreeClient } from "../services/ContreeClient.js"
import type { ContreeApiError } from "../services/ContreeError.js"
import type { FileSync } from "../services/FileSync.js"
import type { OperationWaiter, WaitTimeout } from "../services/OperationWaiter.js"
import type { RegistryAuth } from "../services/RegistryAuth.js"
import type { ToolContext } from "./ToolContext.js"
import { invalidInput, ToolError, toToolError } from "./ToolError.js"

/** Everything a tool handler may use. */
export type ToolServices = ContreeClient | ContreeCache | FileSync | OperationWaiter | RegistryAuth | ToolContext

type HandlerError = ToolError | ContreeApiError | WaitTimeout | CacheError

export interface ToolSpec<I, II, O, OI> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly annotations: Omit<ToolAnnotations, "title">
  readonly input: Schema.Schema<I, II>
  readonly output: Schema.Schema<O, OI>
  readonly handler: (input: I) => Effect.Effect<O, HandlerError, ToolServices>
}

/** A tool as the MCP adapter sees it: schemas as JSON, and a call from raw arguments to encoded output. */
export interface Tool {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly annotations: ToolAnnotations
  readonly inputSchema: JsonObjectSchema
  readonly outputSchema: JsonObjectSchema
  readonly call: (args: unknown) => Effect.Effect<Record<string, unknown>, ToolError, ToolServices>
}

export interface JsonObjectSchema {
  readonly type: "object"
  readonly [key: string]: unknown
}

/** JSON Schema 2020-12 of a schema's encoded side, which is what clients send and receive. */
export const jsonSchemaOf = (schema: Schema.Schema.All): JsonObjectSchema => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const json = JSONSchema.fromAST(schema.ast, { definitions, target: "jsonSchema2020-12", topLevelReferenceStrategy: "skip" })
  const withDefs = Object.keys(definitions).length > 0 ? { ...json, $defs: definitions } : json
  return { ...withDefs, type: "object" } as JsonObjectSchema
}

const formatParseError = (error: ParseResult.ParseError) => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    where: issue.path.length > 0 ? issue.path.join(".") : "arguments",
    message: issue.message
  }))
  // Optional parameters also accept undefined (and nullable ones null); saying so next to the real
  // complaint about the same parameter only confuses.
  const absentAllowed = /^Expected (undefined|null), actual /
  const useful = issues.filter((issue) =>
    !(absentAllowed.test(issue.message) &&
      issues.some((other) =>
        other !== issue && !absentAllowed.test(other.message) &&
        (other.where === issue.where || other.where.startsWith(`${issue.where}.`))
      ))
  )
  return useful.map((issue) => `${issue.where}: ${issue.message}`).join("; ")
}

export const defineTool = <I, II, O, OI>(spec: ToolSpec<I, II, O, OI>): Tool => {
  const decode = Schema.decodeUnknown(spec.input, { onExcessProperty: "error", errors: "all" })
  const encode = Schema.encode(spec.output)
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    annotations: { title: spec.title, ...spec.annotations },
    inputSchema: jsonSchemaOf(spec.input),
    outputSchema: jsonSchemaOf(spec.output),
    call: (args) =>
      decode(args ?? {}).pipe(
        Effect.mapError((error) => invalidInput(`invalid arguments for ${spec.name}: ${formatParseError(error)}`)),
        Effect.flatMap(spec.handler),
        Effect.mapError(toToolError),
        Effect.flatMap((output) =>
          encode(output).pipe(
            Effect.mapError((error) => new ToolError({ reason: "Internal", message: `${spec.name} produced an invalid result: ${error.message}` }))
          )
        ),
        Effect.map((encoded) => encoded as Record<string, unknown>),
        Effect.withSpan(`tool.${spec.name}`)
      )
  }
}
