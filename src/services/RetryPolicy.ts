import { Context, Duration, Schedule } from "effect"

/**
 * Every retry, timeout and polling cadence in one place. Layers read it with `yield* RetryPolicy`;
 * tests and embedders override it with `Layer.succeed(RetryPolicy, ...)`.
 */
export interface RetryPolicyShape {
  /** Delays between attempts of a retryable request; its length bounds the attempts. */
  readonly transient: Schedule.Schedule<unknown>
  /** Upper bound for one HTTP attempt, from sending to the last byte of a JSON body. */
  readonly requestTimeout: Duration.Duration
  /** Delays between polls of one operation: fast at first, then backing off. */
  readonly poll: Schedule.Schedule<unknown>
  /** Concurrent status requests across all waited operations (not a slot per operation). */
  readonly pollConcurrency: number
  /** Extra time a waited run gets beyond its own `timeout`, for queueing and start-up. */
  readonly runGrace: Duration.Duration
}

export const defaultRetryPolicy: RetryPolicyShape = {
  transient: Schedule.exponential("200 millis", 2).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced("5 seconds")),
    Schedule.intersect(Schedule.recurs(5))
  ),
  requestTimeout: Duration.seconds(30),
  // The first look comes soon (a local `contree-mcp serve` finishes a short run in tens of ms); the
  // backoff keeps long operations to a handful of requests: 9 in the first second, then one per 2 s.
  poll: Schedule.exponential("20 millis", 1.5).pipe(Schedule.union(Schedule.spaced("2 seconds"))),
  pollConcurrency: 8,
  runGrace: Duration.minutes(5)
}

/** A failed attempt as a retrying caller sees it: whether another attempt may help, and how long the server asked us to wait. */
export interface RetryVerdict {
  readonly retry: boolean
  readonly afterMs: number | undefined
}

/** `Retry-After` in milliseconds, from seconds or an HTTP date; undefined when absent or unreadable. */
export const parseRetryAfter = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  // The server's date is a wall-clock time, so it is compared with the wall clock, not the Effect Clock.
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/**
 * The policy's transient schedule over failures that say whether they are worth retrying: stops at
 * the first that is not, and waits at least what a `Retry-After` asked (capped at a minute).
 */
export const retryWhile = <V extends RetryVerdict>(policy: RetryPolicyShape): Schedule.Schedule<unknown, V> =>
  Schedule.intersect(policy.transient, Schedule.identity<V>()).pipe(
    Schedule.whileInput((v: V) => v.retry),
    Schedule.modifyDelay(([, v], delay) =>
      v.afterMs === undefined ? delay : Duration.max(delay, Duration.millis(Math.min(v.afterMs, 60_000)))
    )
  )

export class RetryPolicy extends Context.Reference<RetryPolicy>()("contree/RetryPolicy", {
  defaultValue: () => defaultRetryPolicy
}) {}
