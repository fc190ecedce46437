import { Deferred, Effect, FiberMap, Option, type Scope } from "effect"

export interface OperationQueue {
  /** Runs `task` once one of the `concurrency` slots is free; `release` once it has ended or was stopped, even before it started. */
  readonly submit: (id: string, task: Effect.Effect<void>, release: Effect.Effect<void>) => Effect.Effect<void>
  /** Stops a queued or running task; returns once its finalizers (sandbox kill, clean-up) are done. */
  readonly interrupt: (id: string) => Effect.Effect<void>
  /** Completes when the task has settled its operation (or ended); none for a task this queue does not hold. */
  readonly whenDone: (id: string) => Option.Option<Effect.Effect<void>>
  /** Wakes the waiters of a task that has recorded its outcome but still cleans up. */
  readonly settle: (id: string) => Effect.Effect<void>
}

/** The operations of this process: one fiber each, at most `concurrency` past the queue at once, all interrupted at shutdown. */
export const makeOperationQueue = (concurrency: number): Effect.Effect<OperationQueue, never, Scope.Scope> =>
  Effect.gen(function*() {
    const slots = yield* Effect.makeSemaphore(concurrency)
    const fibers = yield* FiberMap.make<string>()
    const done = new Map<string, Deferred.Deferred<void>>()

    const settle = (id: string) =>
      Effect.suspend(() => {
        const finished = done.get(id)
        done.delete(id)
        return finished === undefined ? Effect.void : Deferred.succeed(finished, undefined)
      })

    const submit = (id: string, task: Effect.Effect<void>, release: Effect.Effect<void>) =>
      Effect.gen(function*() {
        done.set(id, yield* Deferred.make<void>())
        yield* FiberMap.run(fibers, id, slots.withPermits(1)(task).pipe(Effect.ensuring(settle(id)), Effect.ensuring(release)))
      })

    return {
      submit,
      interrupt: (id) => FiberMap.remove(fibers, id),
      whenDone: (id) => Option.map(Option.fromNullable(done.get(id)), Deferred.await),
      settle
    }
  })
