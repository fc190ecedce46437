import { type Duration, Effect, Fiber, TestClock } from "effect"

/** Advances the TestClock in steps until `fiber` ends (at most `max` steps), then joins it. */
export const driveToEnd = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput = "100 millis", max = 10_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < max && fiber.unsafePoll() === null; i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

/** Lets other fibers run until `done()` holds (at most `max` yields). */
export const until = (done: () => boolean, max = 1_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < max && !done(); i++) yield* Effect.yieldNow()
  })

/** Gives other fibers plenty of chances to run. */
export const settle = (times = 50) => Effect.repeatN(Effect.yieldNow(), times)
