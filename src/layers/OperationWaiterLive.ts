import { Deferred, Duration, Effect, FiberId, Layer, Option, Schedule, Schema, Stream } from "effect"
import { Operation } from "../domain/Operation.js"
import { ContreeCache } from "../services/ContreeCache.js"
import { ContreeClient } from "../services/ContreeClient.js"
import { OperationCompletion, type OperationProgress, type OutputChunk } from "../services/OperationCompletion.js"
import type { ContreeApiError } from "../services/ContreeError.js"
import { recordOperation } from "../services/ImageLineage.js"
import { OperationWaiter, type WaitOptions, WaitTimeout } from "../services/OperationWaiter.js"
import { RetryPolicy } from "../services/RetryPolicy.js"

interface Poller {
  readonly done: Deferred.Deferred<Operation, ContreeApiError>
  readonly listeners: Set<(op: Operation) => Effect.Effect<void>>
  readonly workListeners: Set<(progress: OperationProgress) => Effect.Effect<void>>
  readonly outputListeners: Set<(chunk: OutputChunk) => Effect.Effect<void>>
}

const OPERATION = "operation"
/** Extra time between polls while a backend's feed (the cloud's event stream) follows the operation. */
const FOLLOWED_POLL = Duration.seconds(5)
const encodeOperation = Schema.encodeSync(Operation)

/**
 * What the cache keeps of a terminal operation: all but the echoed `files`, which no tool shows and
 * which a run given a synced project would fill with thousands of entries, run after run.
 */
const cachedCopy = (op: Operation) => {
  const encoded = encodeOperation(op)
  if (encoded.metadata === null || typeof encoded.metadata !== "object" || !("files" in encoded.metadata)) return encoded
  const { files: _, ...metadata } = encoded.metadata
  return { ...encoded, metadata }
}
const decodeOperation = Schema.decodeUnknownOption(Operation)

/**
 * The waiter over `ContreeClient`. With a `completion` (a backend that announces ends, the local
 * engine), a wait answers the moment the operation ends and relays its work; without, it polls.
 */
export const makeOperationWaiter = (completion: Option.Option<OperationCompletion["Type"]>) => Effect.gen(function*() {
  const client = yield* ContreeClient
  const cache = yield* ContreeCache
  const policy = yield* RetryPolicy
  const scope = yield* Effect.scope
  // Caps status requests in flight, not operations followed: a finished operation never waits for a slot.
  const permits = yield* Effect.makeSemaphore(policy.pollConcurrency)
  const pollers = new Map<string, Poller>()
  const waiting = new Map<string, number>()

  /** Terminal operations are immutable: cache them and record the lineage they reveal. */
  const remember = (op: Operation) =>
    op.isTerminal
      ? cache.put(OPERATION, op.uuid, cachedCopy(op)).pipe(
        Effect.zipRight(recordOperation(op)),
        Effect.provideService(ContreeCache, cache),
        Effect.catchAll((error) => Effect.logWarning(`could not cache operation ${op.uuid}: ${error.message}`))
      )
      : Effect.void

  const fetch = (id: string) => permits.withPermits(1)(client.getOperation(id)).pipe(Effect.tap(remember))

  // Only terminal entries count: a cache.db shared with the reference server also holds in-flight statuses.
  const cached = (id: string) =>
    cache.get(OPERATION, id).pipe(
      Effect.map(Option.flatMap((entry) => Option.filter(decodeOperation(entry.data), (op) => op.isTerminal))),
      Effect.orElseSucceed(() => Option.none<Operation>())
    )

  const get = (id: string) => Effect.flatMap(cached(id), Option.match({ onSome: Effect.succeed, onNone: () => fetch(id) }))

  const pollUntilTerminal = (id: string, poller: Poller, following?: Effect.Effect<boolean>) =>
    Effect.gen(function*() {
      const delays = yield* Schedule.driver(policy.poll)
      while (true) {
        const op = yield* fetch(id)
        yield* Effect.forEach(poller.listeners, (listener) => listener(op), { discard: true })
        if (op.isTerminal) return op
        yield* Effect.orDie(delays.next(undefined))
        // While the backend's feed follows the operation, polls are only a safety net.
        if (following !== undefined && (yield* following)) yield* Effect.sleep(FOLLOWED_POLL)
      }
    })

  /** Polling keeps progress flowing; a backend that announces completion ends the race at once, and may tell its work meanwhile. */
  const followUntilTerminal = (id: string, poller: Poller) =>
    Option.match(completion, {
      onNone: () => pollUntilTerminal(id, poller),
      onSome: (announced) => {
        const relay = <A>(stream: Stream.Stream<A>, listeners: Set<(a: A) => Effect.Effect<void>>) =>
          stream.pipe(
            Stream.runForEach((a) => Effect.forEach(listeners, (listener) => listener(a), { discard: true })),
            Effect.zipRight(Effect.never)
          )
        const relayWork = Effect.raceFirst(relay(announced.progress(id), poller.workListeners), relay(announced.output(id), poller.outputListeners))
        return Effect.raceFirst(
          announced.awaitTerminal(id).pipe(Effect.tap(remember)),
          Effect.raceFirst(pollUntilTerminal(id, poller, announced.following?.(id)), relayWork)
        )
      }
    })

  /** The single poller of an operation, started on first use and shared by every waiter. */
  const pollerFor = (id: string) =>
    Effect.suspend(() => {
      const existing = pollers.get(id)
      if (existing !== undefined) return Effect.succeed(existing)
      const poller: Poller = {
        done: Deferred.unsafeMake(FiberId.none),
        listeners: new Set(),
        workListeners: new Set(),
        outputListeners: new Set()
      }
      pollers.set(id, poller)
      return followUntilTerminal(id, poller).pipe(
        Effect.exit,
        Effect.flatMap((exit) => Deferred.done(poller.done, exit)),
        Effect.ensuring(Effect.sync(() => pollers.delete(id))),
        Effect.forkIn(scope),
        Effect.as(poller)
      )
    })

  const cancelQuietly = (id: string) =>
    client.cancelOperation(id).pipe(
      Effect.tap(() => Effect.logInfo(`cancelled operation ${id}`)),
      Effect.catchAll((error) => Effect.logWarning(`could not cancel operation ${id}: ${error.message}`))
    )

  /** Gives up on an operation for this caller; it is cancelled only if nobody else still waits on it. */
  const abandon = (id: string) =>
    Effect.suspend(() =>
      (waiting.get(id) ?? 0) <= 1 ? cancelQuietly(id) : Effect.logDebug(`operation ${id} is still awaited elsewhere; not cancelled`)
    )

  const withDeadline = (id: string, timeout: Duration.Duration | undefined) =>
  <A>(awaiting: Effect.Effect<A, ContreeApiError>): Effect.Effect<A, ContreeApiError | WaitTimeout> =>
    timeout === undefined ? awaiting : awaiting.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new WaitTimeout({
            operationId: id,
            message: `operation ${id} did not finish within ${Duration.format(timeout)}, so it was cancelled`
          })
      }),
      Effect.tapErrorTag("WaitTimeout", () => abandon(id))
    )

  /** Registers a waiter (and its progress listeners) for the duration of the wait. */
  const register = (id: string, poller: Poller, options: WaitOptions) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        if (options.onProgress !== undefined) poller.listeners.add(options.onProgress)
        if (options.onWork !== undefined) poller.workListeners.add(options.onWork)
        if (options.onOutput !== undefined) poller.outputListeners.add(options.onOutput)
        waiting.set(id, (waiting.get(id) ?? 0) + 1)
      }),
      () =>
        Effect.sync(() => {
          if (options.onProgress !== undefined) poller.listeners.delete(options.onProgress)
          if (options.onWork !== undefined) poller.workListeners.delete(options.onWork)
          if (options.onOutput !== undefined) poller.outputListeners.delete(options.onOutput)
          const left = (waiting.get(id) ?? 1) - 1
          if (left > 0) waiting.set(id, left)
          else waiting.delete(id)
        })
    )

  const wait = (id: string, options: WaitOptions = {}) =>
    Effect.gen(function*() {
      const known = yield* cached(id)
      if (Option.isSome(known)) return known.value
      const poller = yield* pollerFor(id)
      yield* register(id, poller, options)
      return yield* Deferred.await(poller.done).pipe(
        withDeadline(id, options.timeout),
        // A caller that stops waiting (MCP cancellation, an `any` race) no longer wants the result.
        Effect.onInterrupt(() => abandon(id))
      )
    }).pipe(Effect.scoped)

  const cancel = (id: string) =>
    Effect.gen(function*() {
      const current = yield* get(id)
      if (current.isTerminal) return { cancelled: current.status === "CANCELLED", operation: current }
      const accepted = yield* client.cancelOperation(id)
      const after = yield* fetch(id)
      return { cancelled: accepted || after.status === "CANCELLED", operation: after }
    })

  yield* Effect.addFinalizer(() =>
    Effect.forEach([...waiting.keys()], cancelQuietly, { concurrency: "unbounded", discard: true })
  )

  return OperationWaiter.of({
    track: (id) => Effect.asVoid(pollerFor(id)),
    wait,
    get,
    cancel
  })
})

/** Follows operations by polling their status: for backends that cannot announce an end (the cloud). */
export const OperationWaiterLive: Layer.Layer<OperationWaiter, never, ContreeClient | ContreeCache> = Layer.scoped(
  OperationWaiter,
  makeOperationWaiter(Option.none())
)

/** Follows operations through the backend's `OperationCompletion` (the local engine, the cloud's events), polling alongside. */
export const OperationWaiterNotified: Layer.Layer<OperationWaiter, never, ContreeClient | ContreeCache | OperationCompletion> =
  Layer.scoped(OperationWaiter, Effect.flatMap(OperationCompletion, (completion) => makeOperationWaiter(Option.some(completion))))
