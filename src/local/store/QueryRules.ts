import { Clock, Effect } from "effect"
import { isValidTag } from "../../domain/Tag.js"
import { invalidRequest, type LocalEngineError } from "../LocalEngineError.js"

/**
 * The cloud's validation rules for tags, list pages and time bounds (spec §3.1, §3.3, §3.13),
 * as the in-repo fake API applies them, so both backends refuse the same input.
 */

export { isValidTag }

export const requireTag = (tag: string): Effect.Effect<string, LocalEngineError> =>
  isValidTag(tag) ? Effect.succeed(tag) : Effect.fail(invalidRequest(`invalid tag: ${JSON.stringify(tag)}`))

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** ISO-8601, or `<int>[smhdw]` meaning "that long before now"; epoch milliseconds. */
export const parseTimeBound = (name: string, value: string, now: number): Effect.Effect<number, LocalEngineError> => {
  const relative = /^(\d+)([smhdw])$/.exec(value)
  if (relative !== null) return Effect.succeed(now - Number(relative[1]) * UNIT_MS[relative[2]!]!)
  const absolute = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(absolute)
    ? Effect.fail(invalidRequest(`${name} must be an ISO-8601 time or a duration like 1h`))
    : Effect.succeed(absolute)
}

export interface Window {
  readonly since: number
  readonly until: number
  readonly limit: number
  readonly offset: number
}

/** Validates a page (`limit` 1..1000, `offset` ≥ 0) and optional inclusive time bounds. */
export const listWindow = (query: {
  readonly limit: number
  readonly offset: number
  readonly since?: string | undefined
  readonly until?: string | undefined
}): Effect.Effect<Window, LocalEngineError> =>
  Effect.gen(function*() {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000) {
      return yield* invalidRequest("limit must be between 1 and 1000")
    }
    if (!Number.isInteger(query.offset) || query.offset < 0) return yield* invalidRequest("offset must be a non-negative integer")
    const now = yield* Clock.currentTimeMillis
    const since = query.since === undefined ? -Infinity : yield* parseTimeBound("since", query.since, now)
    const until = query.until === undefined ? Infinity : yield* parseTimeBound("until", query.until, now)
    return { since, until, limit: query.limit, offset: query.offset }
  })
