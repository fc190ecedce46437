// The output of this engine's runs while they run, for whoever waits on them (contree_run's progress).
import { Context, Effect, Layer, Stream } from "effect"

/** Text a run's main process wrote, decoded as UTF-8 across chunk boundaries. */
export interface RunOutputChunk {
  readonly stream: "stdout" | "stderr"
  readonly text: string
}

/** What a running run writes its output into. */
export interface RunOutputSink {
  readonly stdout: (bytes: Buffer) => void
  readonly stderr: (bytes: Buffer) => void
  /** The run ended: watchers' streams end. */
  readonly close: () => void
}

/** A late watcher first gets this much of what was written (the tail), then what comes. */
const HISTORY_CHARS = 64 * 1024

interface Feed {
  readonly history: Array<RunOutputChunk>
  historyChars: number
  readonly watchers: Set<{ readonly chunk: (chunk: RunOutputChunk) => void; readonly end: () => void }>
}

export class RunOutput extends Context.Tag("contree/local/RunOutput")<RunOutput, {
  /** A feed for a run about to start; closed (and forgotten) when it ends. */
  readonly open: (runId: string) => RunOutputSink
  /** The run's output as it comes; ends with the run, or at once for a run this engine does not run now. */
  readonly watch: (runId: string) => Stream.Stream<RunOutputChunk>
}>() {
  static readonly layer: Layer.Layer<RunOutput> = Layer.sync(RunOutput, () => {
    const feeds = new Map<string, Feed>()
    const emit = (feed: Feed, chunk: RunOutputChunk) => {
      feed.history.push(chunk)
      feed.historyChars += chunk.text.length
      while (feed.historyChars > HISTORY_CHARS && feed.history.length > 1) feed.historyChars -= feed.history.shift()!.text.length
      for (const watcher of feed.watchers) watcher.chunk(chunk)
    }
    return RunOutput.of({
      open: (runId) => {
        const feed: Feed = { history: [], historyChars: 0, watchers: new Set() }
        feeds.set(runId, feed)
        const decoders = { stdout: new TextDecoder("utf-8"), stderr: new TextDecoder("utf-8") }
        const sink = (stream: "stdout" | "stderr") => (bytes: Buffer) => {
          const text = decoders[stream].decode(bytes, { stream: true })
          if (text !== "") emit(feed, { stream, text })
        }
        return {
          stdout: sink("stdout"),
          stderr: sink("stderr"),
          close: () => {
            if (feeds.get(runId) !== feed) return
            feeds.delete(runId)
            for (const watcher of feed.watchers) watcher.end()
          }
        }
      },
      watch: (runId) =>
        Stream.async<RunOutputChunk>((emitter) => {
          const feed = feeds.get(runId)
          if (feed === undefined) return void emitter.end()
          for (const chunk of feed.history) void emitter.single(chunk)
          const watcher = { chunk: (chunk: RunOutputChunk) => void emitter.single(chunk), end: () => void emitter.end() }
          feed.watchers.add(watcher)
          return Effect.sync(() => feed.watchers.delete(watcher))
        })
    })
  })
}
