import { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { type ApiFailure, badRequest } from "./ApiFailure.js"

/** The request's query string: the first value of each parameter, as every endpoint takes single values. */
export interface QueryParams {
  readonly get: (name: string) => string | undefined
  readonly has: (name: string) => boolean
  /** A page bound: absent takes `fallback`; the engine judges the range and names the parameter. */
  readonly count: (name: string, fallback: number) => number
  /** A parameter that must be present and not empty. */
  readonly required: (name: string) => Effect.Effect<string, ApiFailure>
  /** One of `allowed`, or absent. */
  readonly oneOf: <const T extends string>(name: string, allowed: ReadonlyArray<T>) => Effect.Effect<T | undefined, ApiFailure>
}

export const queryParams: Effect.Effect<QueryParams, never, HttpServerRequest.ParsedSearchParams> = Effect.map(
  HttpServerRequest.ParsedSearchParams,
  (params) => {
    const get = (name: string) => {
      const value = params[name]
      return Array.isArray(value) ? value[0] : value
    }
    return {
      get,
      has: (name) => get(name) !== undefined,
      count: (name, fallback) => {
        const value = get(name)
        return value === undefined ? fallback : value.trim() === "" ? Number.NaN : Number(value)
      },
      required: (name) => {
        const value = get(name)
        return value === undefined || value === "" ? Effect.fail(badRequest(`${name} is required`)) : Effect.succeed(value)
      },
      oneOf: <const T extends string>(name: string, allowed: ReadonlyArray<T>) => {
        const value = get(name)
        return value === undefined || (allowed as ReadonlyArray<string>).includes(value)
          ? Effect.succeed(value as T | undefined)
          : Effect.fail(badRequest(`${name} must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`))
      }
    }
  }
)
