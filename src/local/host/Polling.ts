import { Effect } from "effect"

/**
 * Runs `check` until its result satisfies `done`, pausing with `pause` between tries: the one
 * way the engine waits for a state it cannot be told about (another process's rows, a process's
 * end). `pause` is evaluated anew each time, so it may wait for an event instead of a delay.
 */
export const pollUntil = <A, E, R, R2>(
  check: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  pause: Effect.Effect<void, never, R2>
): Effect.Effect<A, E, R | R2> => {
  const loop: Effect.Effect<A, E, R | R2> = Effect.flatMap(check, (a) => (done(a) ? Effect.succeed(a) : Effect.zipRight(pause, loop)))
  return loop
}
