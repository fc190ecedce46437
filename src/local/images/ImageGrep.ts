import { Effect } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { createInterface } from "node:readline"
import type { GrepMatch, GrepResult } from "../../api/ApiSchemas.js"
import { normalizeImagePath } from "../../domain/ImagePath.js"
import type { GrepQuery } from "../../services/ContreeClient.js"
import { findProgram } from "../host/HostCapabilities.js"
import { internal, invalidRequest, LocalEngineError, notFound } from "../LocalEngineError.js"
import type { LayerStack } from "./LayerStack.js"

/**
 * `contree_grep` on the local backend: ripgrep, the cloud's own search (spec §1.3 #25), run over
 * each layer that holds a searched directory, with the cloud's flags (hidden files searched,
 * ignore files ignored, symlinks not followed, binary files skipped). Why not a search of our own
 * or a mount: ripgrep's Rust regex syntax and binary detection are then the cloud's exactly, it is
 * native and parallel, and a layer directory needs no mount. What overlayfs hides is taken out after:
 * a hit counts only if its file is the one the merged view shows at that path (whiteouts, opaque
 * directories, names shadowed or replaced by an upper layer all fail that test).
 */

/** A search that has not finished by then answers what it found, with `truncated`. */
const DEADLINE = "30 seconds"

interface Search {
  /** The layer directory rg runs in, so that the paths it reports are the image's (`etc/passwd`). */
  readonly cwd: string
  /** The searched path relative to the image's root (`.` for all of it). */
  readonly target: string
}

const caseFlag = { sensitive: "--case-sensitive", insensitive: "--ignore-case", smart: "--smart-case" } as const

const rgArguments = (query: GrepQuery, target: string): Array<string> => [
  "--json",
  "--no-config",
  "--hidden",
  "--no-ignore",
  "--no-messages",
  // A minified file's one line is not worth megabytes: longer lines come as a preview.
  "--max-columns", "4096",
  "--max-columns-preview",
  caseFlag[query.case],
  ...(query.maxCount === undefined ? [] : ["--max-count", String(query.maxCount)]),
  ...(query.before > 0 ? ["--before-context", String(query.before)] : []),
  ...(query.after > 0 ? ["--after-context", String(query.after)] : []),
  ...query.globs.flatMap((glob) => ["--glob", glob]),
  ...query.patterns.flatMap((pattern) => ["--regexp", pattern]),
  "--",
  target
]

/** rg's JSON carries text, or base64 bytes for what is not UTF-8. */
const textOf = (value: { readonly text?: string; readonly bytes?: string } | undefined): string =>
  value?.text ?? (value?.bytes === undefined ? "" : Buffer.from(value.bytes, "base64").toString("utf8"))

interface RgEvent {
  readonly type: string
  readonly data: {
    readonly path?: { readonly text?: string; readonly bytes?: string }
    readonly lines?: { readonly text?: string; readonly bytes?: string }
    readonly line_number?: number
    readonly absolute_offset?: number
    readonly submatches?: ReadonlyArray<{ readonly match: { readonly text?: string; readonly bytes?: string }; readonly start: number; readonly end: number }>
  }
}

const toMatch = (event: RgEvent, path: string): GrepMatch => ({
  path,
  line_number: event.data.line_number ?? 0,
  absolute_offset: event.data.absolute_offset ?? 0,
  line_text: textOf(event.data.lines).replace(/\r?\n$/, ""),
  submatches: (event.data.submatches ?? []).map((s) => ({ text: textOf(s.match), start: s.start, end: s.end })),
  type: event.type
})

/** What a search keeps, shared by its layers: hits go in as they come, so a deadline keeps them. */
interface Found {
  readonly matches: Array<GrepMatch>
  hits: number
  bytes: number
}

/** The most line text a search keeps: a bound on memory whatever the context lines and the files. */
const MAX_BYTES = 16 * 1024 * 1024

/**
 * One rg over one layer: hits whose file the merged view shows (`visible`) go into `found` until
 * `maxTotal` hits (or `MAX_BYTES`) are kept; then rg is stopped, and `true` says it was cut short.
 * Nothing here may throw out of a stream handler: a failure ends the search as an error.
 */
const searchLayer = (rg: string, query: GrepQuery, search: Search, visible: (path: string) => boolean, found: Found) =>
  Effect.async<boolean, LocalEngineError>((resume, signal) => {
    const child = spawn(rg, rgArguments(query, search.target), { cwd: search.cwd, stdio: ["ignore", "pipe", "pipe"], signal, killSignal: "SIGKILL" })
    let stopped: "cut" | LocalEngineError | undefined
    let stderr = ""
    const stop = (why: "cut" | LocalEngineError) => {
      stopped = why
      child.kill("SIGKILL")
    }
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8")
    })
    const lines = createInterface({ input: child.stdout })
    lines.on("line", (line) => {
      if (stopped !== undefined || !(line.startsWith("{\"type\":\"match\"") || line.startsWith("{\"type\":\"context\""))) return
      try {
        const event = JSON.parse(line) as RgEvent
        const path = `/${textOf(event.data.path).replace(/^\.\//, "")}`
        if (!visible(path)) return
        if (event.type === "match" && found.hits >= query.maxTotal) return stop("cut")
        const match = toMatch(event, path)
        found.bytes += match.line_text.length
        if (found.bytes > MAX_BYTES) return stop("cut")
        if (event.type === "match") found.hits++
        found.matches.push(match)
      } catch (error) {
        stop(internal("cannot search the image")(error))
      }
    })
    child.once("error", (error) => {
      if (!signal.aborted) resume(Effect.fail(new LocalEngineError({ reason: "Internal", message: `ripgrep failed: ${error.message}` })))
    })
    child.once("close", (code) => {
      if (stopped instanceof LocalEngineError) return resume(Effect.fail(stopped))
      if (stopped === "cut") return resume(Effect.succeed(true))
      // 0: hits, 1: none; 2 with a message: a bad pattern, glob or option (unreadable files say nothing: --no-messages).
      if (code === 2 && stderr.trim() !== "") return resume(Effect.fail(invalidRequest(`pattern, glob or option: ${stderr.trim().slice(0, 1000)}`)))
      resume(Effect.succeed(false))
    })
  })

/** Where each requested path is searched: a directory in every layer holding it, a file in its own layer. */
const searchesOf = (stack: LayerStack, paths: ReadonlyArray<string>): Array<Search> | LocalEngineError => {
  const searches: Array<Search> = []
  for (const requested of paths.length === 0 ? ["/"] : paths) {
    const entry = stack.resolve(normalizeImagePath(requested), true)
    if (entry === undefined) return notFound(`path ${requested} is not in the image`)
    const target = entry.path === "/" ? "." : entry.path.slice(1)
    if (entry.stats.isDirectory()) {
      for (const index of entry.layers) searches.push({ cwd: stack.layers[index]!.dir, target })
    } else if (entry.stats.isFile()) {
      searches.push({ cwd: entry.hostPath.slice(0, entry.hostPath.length - entry.path.length), target })
    }
  }
  return searches
}

const byPathThenLine = (a: GrepMatch, b: GrepMatch) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line_number - b.line_number)

/** Searches an image's files as `query` says, straight from its layers. */
export const grepStack = (stack: LayerStack, query: GrepQuery): Effect.Effect<GrepResult, LocalEngineError> =>
  Effect.gen(function*() {
    if (query.patterns.length === 0) return yield* invalidRequest("pattern is required")
    const rg = findProgram("rg")
    if (rg === undefined) {
      return yield* new LocalEngineError({ reason: "Unavailable", message: "searching images on the local backend needs ripgrep (Debian: apt-get install ripgrep)" })
    }
    const searches = searchesOf(stack, query.paths)
    if (searches instanceof LocalEngineError) return yield* searches
    // Whether the merged view shows this layer's file at that path, asked once per file.
    const shown = new Map<string, boolean>()
    const visibleIn = (search: Search) => (path: string) => {
      const key = join(search.cwd, path)
      let known = shown.get(key)
      if (known === undefined) {
        // A path the server cannot walk (a directory of mode 000 above, unprivileged) cannot be shown as this file.
        try {
          known = stack.resolve(path, false)?.hostPath === key
        } catch {
          known = false
        }
        shown.set(key, known)
      }
      return known
    }
    // Kept as they come, so that a search stopped by the deadline still answers what it found.
    const found: Found = { matches: [], hits: 0, bytes: 0 }
    const searchAll = Effect.gen(function*() {
      for (const search of searches) {
        if (yield* searchLayer(rg, query, search, visibleIn(search), found)) return true
      }
      return false
    })
    const truncated = yield* searchAll.pipe(Effect.timeoutTo({ duration: DEADLINE, onSuccess: (cut) => cut, onTimeout: () => true }))
    return { path: query.paths.length === 1 ? query.paths[0]! : query.paths.length === 0 ? "/" : query.paths, patterns: query.patterns, truncated, matches: found.matches.sort(byPathThenLine) }
  })
