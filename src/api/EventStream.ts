/**
 * Reading the operation event stream (spec §1.5): Server-Sent Events frames out of a body's text,
 * and the events they carry. Frames are `id:`, `event:`, `data:` lines (CRLF allowed, several
 * `data:` lines joined by newlines) ended by a blank line; `:` lines are comments (keepalives).
 */
import { Option, Schema, Stream } from "effect"
import { OperationEvent } from "./HandWrittenRoutes.js"

export interface SseFrame {
  readonly id: string | undefined
  readonly event: string
  readonly data: string
}

interface Pending {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: ReadonlyArray<string>
}

const empty: Pending = { id: undefined, event: undefined, data: [] }

/** One line into the frame being built; a blank line completes it (when it has anything). */
const step = (pending: Pending, line: string): readonly [Pending, Option.Option<SseFrame>] => {
  if (line === "") {
    const frame = pending.data.length === 0 && pending.event === undefined
      ? Option.none()
      : Option.some({ id: pending.id, event: pending.event ?? "message", data: pending.data.join("\n") })
    return [empty, frame]
  }
  if (line.startsWith(":")) return [pending, Option.none()]
  const colon = line.indexOf(":")
  const field = colon === -1 ? line : line.slice(0, colon)
  const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
  switch (field) {
    case "id":
      return [{ ...pending, id: value }, Option.none()]
    case "event":
      return [{ ...pending, event: value }, Option.none()]
    case "data":
      return [{ ...pending, data: [...pending.data, value] }, Option.none()]
    default:
      return [pending, Option.none()]
  }
}

/** The frames of an event-stream body, as its bytes arrive. */
export const sseFrames = <E, R>(body: Stream.Stream<Uint8Array, E, R>): Stream.Stream<SseFrame, E, R> =>
  body.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.mapAccum(empty, step),
    Stream.filterMap((frame) => frame)
  )

const decodeEvent = Schema.decodeUnknownOption(Schema.parseJson(OperationEvent))

/** The `OperationEvent` of a frame; none for frames that carry none (`sse_error`, unreadable data). */
export const frameEvent = (frame: SseFrame): Option.Option<OperationEvent> => (frame.event === "sse_error" ? Option.none() : decodeEvent(frame.data))
