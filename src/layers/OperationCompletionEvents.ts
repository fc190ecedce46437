/**
 * The cloud's `OperationCompletion`: follows `GET /operations/{id}/events` (spec §1.5), so a wait
 * answers at the `completion` event and the output reaches whoever waits as it is written.
 *
 * - One follower per operation, shared by `awaitTerminal` and `output`; the output is kept for
 *   late subscribers (`PubSub` replay).
 * - A stream that breaks (`sse_error`, a lost connection, an end without `completion`) is resumed
 *   with `Last-Event-Id`; 425 and 410 wait for `Retry-After`; with no progress, reconnects are at
 *   least 0.5 s apart.
 * - A stream that ends without `completion` probes the operation: once it is terminal, the retained
 *   log is drained (follow off, up to 3 attempts) for output still missing, then the wait answers.
 * - 400, 404 (for an operation that exists), 405 and 406 mean "no events here": remembered for
 *   this client, and waits fall back to the waiter's polling (`awaitTerminal` then never answers).
 *   Any other failure of the stream is logged and leaves the wait to polling too: events speed a
 *   wait up, they never fail it.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Deferred, Duration, Effect, Layer, Option, PubSub, Ref, Schema, Stream } from "effect"
import { frameEvent, type SseFrame, sseFrames } from "../api/EventStream.js"
import { CompletionEvent, operationEvents } from "../api/HandWrittenRoutes.js"
import type { Operation } from "../domain/Operation.js"
import { OutputStream, streamBytes } from "../domain/OutputStream.js"
import { ContreeClient } from "../services/ContreeClient.js"
import type { ContreeConfig } from "../services/ContreeConfig.js"
import { type ContreeApiError, reasonForStatus } from "../services/ContreeError.js"
import { OperationCompletion, type OutputChunk } from "../services/OperationCompletion.js"
import { parseRetryAfter } from "../services/RetryPolicy.js"
import { makeContreeHttp } from "./ContreeHttp.js"

interface Follower {
  readonly done: Deferred.Deferred<Operation, ContreeApiError>
  /** `None` marks the end; replayed to late subscribers with the chunks before it. */
  readonly output: PubSub.PubSub<Option.Option<OutputChunk>>
}

/** What one connection to the event stream came to. */
type Connection =
  | { readonly _tag: "Unavailable" }
  | { readonly _tag: "RetryAfter"; readonly ms: number; readonly failed: boolean }
  | { readonly _tag: "Ended"; readonly completed: boolean; readonly progressed: boolean }

const unavailableHere: Connection = { _tag: "Unavailable" }
const retryLater = (ms: number, failed: boolean): Connection => ({ _tag: "RetryAfter", ms, failed })
const ended = (completed: boolean, progressed: boolean): Connection => ({ _tag: "Ended", completed, progressed })

/** One text decoder per stream for a whole operation: a character split across chunks (or reconnects) stays whole. */
type Decoders = Record<OutputChunk["stream"], InstanceType<typeof TextDecoder>>

const decodeOutput = Schema.decodeUnknownOption(OutputStream)
const decodeCompletion = Schema.decodeUnknownOption(CompletionEvent)
const MIN_RECONNECT = Duration.millis(500)
const MAX_RETRY_AFTER_MS = 10_000

/** How long to wait before reconnecting: what `Retry-After` asks, at least 0.5 s (spec §1.5), at most 10 s. */
const retryAfter = (header: string | undefined) =>
  Math.min(Math.max(parseRetryAfter(header) ?? 0, Duration.toMillis(MIN_RECONNECT)), MAX_RETRY_AFTER_MS)
const DRAIN_ATTEMPTS = 3
const REPLAYED_CHUNKS = 1024
/** Connections in a row that failed (5xx) or brought no event before the waiter is left to poll. */
const MAX_IDLE_CONNECTIONS = 30

export const makeOperationCompletionEvents = Effect.gen(function*() {
  const http = yield* makeContreeHttp
  const client = yield* ContreeClient
  const scope = yield* Effect.scope
  const unavailable = yield* Ref.make(false)
  const followers = new Map<string, Follower>()
  const lock = yield* Effect.makeSemaphore(1)

  /** One connection: frames are read until `completion` or the end of the body; `lastId` advances with each event. */
  const connect = (
    id: string,
    lastId: Ref.Ref<number | undefined>,
    follow: boolean,
    decoders: Decoders,
    publish: (chunk: OutputChunk) => Effect.Effect<void>
  ): Effect.Effect<Connection, ContreeApiError> =>
    Effect.gen(function*() {
      const after = yield* Ref.get(lastId)
      const path = operationEvents.path.replace(":uuid", encodeURIComponent(id))
      const request = HttpClientRequest.get(path).pipe(
        HttpClientRequest.setUrlParams(follow ? { follow: "1" } : {}),
        HttpClientRequest.setHeader("accept", operationEvents.contentType),
        after === undefined ? (r) => r : HttpClientRequest.setHeader("last-event-id", String(after))
      )
      const response = yield* http.send({ method: "GET", path }, request, Effect.succeed, () => true)
      const status = response.status
      if (status >= 300) yield* Effect.ignore(response.text)
      if (operationEvents.unavailableStatuses.includes(status)) {
        // A 404 may be about the operation rather than the route: only an operation that exists proves the route missing.
        if (status === 404 && (yield* Effect.either(client.getOperation(id)))._tag === "Left") return yield* Effect.never
        return unavailableHere
      }
      if (status === 425 || status === 410) return retryLater(retryAfter(response.headers["retry-after"]), false)
      // A server error is worth a reconnect, a few times (`follow` counts them); any other refusal ends the following.
      if (status >= 500) return retryLater(retryAfter(response.headers["retry-after"]), true)
      if (status >= 300) {
        return yield* Effect.fail(http.fail({ method: "GET", path }, reasonForStatus(status), `the event stream answered ${status}`, status))
      }
      let completed = false
      let progressed = false
      const onFrame = (frame: SseFrame): Effect.Effect<boolean> =>
        Effect.gen(function*() {
          if (frame.event === "sse_error") return false
          const event = frameEvent(frame)
          if (Option.isNone(event)) return true
          yield* Ref.set(lastId, event.value.id)
          progressed = true
          const type = event.value.type
          if ((type === "stdout" || type === "stderr") && (event.value.spid ?? 1) === 1) {
            const stream = decodeOutput(event.value.data)
            if (Option.isSome(stream)) {
              const text = decoders[type].decode(streamBytes(stream.value), { stream: true })
              if (text !== "") yield* publish({ stream: type, text })
            }
          }
          if (type === "completion" && Option.isSome(decodeCompletion(event.value.data))) {
            completed = true
            return false
          }
          return true
        })
      yield* sseFrames(response.stream).pipe(
        Stream.runForEachWhile(onFrame),
        // A body that breaks off is resumed like one that ends.
        Effect.catchAll((error) => Effect.logDebug(`event stream of ${id} broke off: ${error.message}`))
      )
      return ended(completed, progressed)
    })

  /** The operation once the server says it is terminal (it may lag the completion event by a moment); else polling decides. */
  const settled = (id: string): Effect.Effect<Operation, ContreeApiError> =>
    Effect.gen(function*() {
      for (let attempt = 0; attempt < 20; attempt++) {
        const op = yield* client.getOperation(id)
        if (op.isTerminal) return op
        yield* Effect.sleep(Duration.millis(100))
      }
      return yield* Effect.never
    })

  const follow = (id: string, publish: (chunk: OutputChunk) => Effect.Effect<void>): Effect.Effect<Option.Option<Operation>, ContreeApiError> =>
    Effect.gen(function*() {
      const lastId = yield* Ref.make<number | undefined>(undefined)
      const decoders: Decoders = { stdout: new TextDecoder("utf-8"), stderr: new TextDecoder("utf-8") }
      let drainsLeft: number | undefined
      let idle = 0
      while (true) {
        if (idle > MAX_IDLE_CONNECTIONS) {
          return yield* Effect.fail(http.fail({ method: "GET", path: operationEvents.path }, "Unavailable", `no events after ${idle} attempts`))
        }
        const connection = yield* connect(id, lastId, drainsLeft === undefined, decoders, publish)
        // "Not ready yet" (425) is no failure: an operation may wait in a queue for long.
        if (connection._tag === "Ended") idle = connection.progressed ? 0 : idle + 1
        else if (connection._tag === "RetryAfter" && connection.failed) idle++
        if (connection._tag === "Unavailable") {
          yield* Ref.set(unavailable, true)
          yield* Effect.logInfo("the ConTree API has no operation events here; waits poll instead")
          return Option.none<Operation>()
        }
        if (connection._tag === "RetryAfter") {
          yield* Effect.sleep(Duration.millis(connection.ms))
          continue
        }
        if (connection.completed) return Option.some(yield* settled(id))
        if (drainsLeft !== undefined) {
          if (--drainsLeft <= 0) return Option.some(yield* client.getOperation(id))
          continue
        }
        const current = yield* client.getOperation(id)
        if (current.isTerminal) {
          drainsLeft = DRAIN_ATTEMPTS
          continue
        }
        if (!connection.progressed) yield* Effect.sleep(MIN_RECONNECT)
      }
    })

  const start = (id: string) =>
    Effect.gen(function*() {
      const follower: Follower = {
        done: yield* Deferred.make<Operation, ContreeApiError>(),
        output: yield* PubSub.unbounded<Option.Option<OutputChunk>>({ replay: REPLAYED_CHUNKS })
      }
      followers.set(id, follower)
      const publish = (chunk: OutputChunk) => Effect.asVoid(PubSub.publish(follower.output, Option.some(chunk)))
      yield* follow(id, publish).pipe(
        Effect.tapErrorCause((cause) => Effect.logWarning(`following the events of ${id} failed; waiting by polling`, cause)),
        Effect.option,
        Effect.map(Option.flatten),
        Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (op) => Deferred.succeed(follower.done, op) })),
        Effect.ensuring(PubSub.publish(follower.output, Option.none())),
        Effect.ensuring(Effect.sync(() => followers.delete(id))),
        Effect.forkIn(scope)
      )
      return follower
    })

  /** The follower of an operation, started on first use; the lock keeps it one per operation. */
  const followerFor = (id: string): Effect.Effect<Follower> =>
    lock.withPermits(1)(Effect.suspend(() => {
      const existing = followers.get(id)
      return existing !== undefined ? Effect.succeed(existing) : start(id)
    }))

  return OperationCompletion.of({
    awaitTerminal: (id) =>
      Effect.flatMap(Ref.get(unavailable), (none) => none ? Effect.never : Effect.flatMap(followerFor(id), (f) => Deferred.await(f.done))),
    progress: () => Stream.empty,
    following: (id) => Effect.map(Ref.get(unavailable), (none) => !none && followers.has(id)),
    output: (id) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        if (yield* Ref.get(unavailable)) return Stream.empty
        const follower = yield* followerFor(id)
        const subscription = yield* PubSub.subscribe(follower.output)
        return Stream.fromQueue(subscription).pipe(Stream.takeWhile(Option.isSome), Stream.map((chunk) => chunk.value))
      }))
  })
})

/** Waits on the cloud follow the operation's event stream, where the server has one. */
export const OperationCompletionEvents: Layer.Layer<OperationCompletion, never, ContreeClient | ContreeConfig | HttpClient.HttpClient> =
  Layer.scoped(OperationCompletion, makeOperationCompletionEvents)
