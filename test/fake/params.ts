/** Query-parameter parsing shared by the list endpoints. */
import { ApiError } from "./http.js"

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** ISO-8601, or `<int>[smhdw]` meaning "that long before now"; returns epoch milliseconds. */
export const parseTimeBound = (name: string, value: string): number => {
  const relative = /^(\d+)([smhdw])$/.exec(value)
  if (relative !== null) return Date.now() - Number(relative[1]) * (UNIT_MS[relative[2] as string] as number)
  const absolute = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(absolute)) throw new ApiError(400, `${name} must be an ISO-8601 time or a duration like 1h`)
  return absolute
}

/** A predicate for the optional `since`/`until` bounds (both inclusive). */
export const timeWindow = (query: Readonly<Record<string, string>>): ((epochMs: number) => boolean) => {
  const since = query.since === undefined ? -Infinity : parseTimeBound("since", query.since)
  const until = query.until === undefined ? Infinity : parseTimeBound("until", query.until)
  return (epochMs) => epochMs >= since && epochMs <= until
}

/** Applies `limit` (1..1000, default 100) and `offset` (default 0). */
export const paginate = <T>(items: readonly T[], query: Readonly<Record<string, string>>): T[] => {
  const limit = query.limit === undefined ? 100 : Number(query.limit)
  const offset = query.offset === undefined ? 0 : Number(query.offset)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiError(400, "limit must be between 1 and 1000")
  if (!Number.isInteger(offset) || offset < 0) throw new ApiError(400, "offset must be a non-negative integer")
  return items.slice(offset, offset + limit)
}
