import { Effect, Schema } from "effect"
import { ContreeClient } from "../services/ContreeClient.js"
import { ImageRefParam, noNul, optionalParam, withDefault } from "./params.js"
import { resolveImage } from "./resolveImage.js"
import { defineTool } from "./Tool.js"
import { invalidInput } from "./ToolError.js"

/** A line longer than this comes back cut, with `…`: minified files would otherwise fill the agent's context. */
const LINE_LIMIT = 400

const OneOrMany = (description: string) =>
  Schema.Union(noNul(Schema.String), Schema.Array(noNul(Schema.String))).annotations({ description })

const many = (value: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  value === undefined ? [] : typeof value === "string" ? [value] : value

const Count = Schema.Int.pipe(Schema.nonNegative())

export const contreeGrep = defineTool({
  name: "contree_grep",
  title: "Search an image's files",
  description: [
    "Search the files of an image for regex patterns (ripgrep, Rust syntax) without starting a sandbox. Free.",
    "Hidden files are searched; binary files, symlinks and .gitignore rules are not followed. `truncated` says max_total or the deadline cut it short."
  ].join("\n"),
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: Schema.Struct({
    image: ImageRefParam,
    pattern: OneOrMany("Pattern, or several (a line matching any is a match)"),
    path: optionalParam(OneOrMany("Absolute path(s) to search, files or directories"), "Absolute path(s) to search; default '/'"),
    glob: optionalParam(Schema.Array(noNul(Schema.String)), "Globs over the paths searched, e.g. '*.py'; a leading '!' excludes"),
    max_count: optionalParam(Count, "Matches kept per file"),
    max_total: withDefault(Count, 1000, "Matches kept in all"),
    case: withDefault(Schema.Literal("sensitive", "insensitive", "smart"), "smart", "smart: insensitive unless a pattern has capitals"),
    before: withDefault(Count, 0, "Context lines before each match"),
    after: withDefault(Count, 0, "Context lines after each match")
  }),
  output: Schema.Struct({
    path: Schema.Union(Schema.String, Schema.Array(Schema.String)),
    patterns: Schema.Array(Schema.String),
    truncated: Schema.Boolean,
    matches: Schema.Array(Schema.Struct({
      path: Schema.String,
      line_number: Schema.Number,
      line_text: Schema.String,
      submatches: Schema.Array(Schema.Struct({ text: Schema.String, start: Schema.Number, end: Schema.Number })),
      /** Present on context lines (before/after), which are not matches. */
      context: Schema.optional(Schema.Boolean)
    }))
  }),
  handler: Effect.fn("contree_grep")(function*(input) {
    const client = yield* ContreeClient
    const paths = many(input.path)
    const patterns = many(input.pattern)
    if (patterns.length === 0) return yield* invalidInput("pattern: give at least one pattern")
    const result = yield* client.grep(yield* resolveImage(input.image), {
      patterns,
      paths,
      globs: input.glob ?? [],
      maxCount: input.max_count,
      maxTotal: input.max_total,
      case: input.case,
      before: input.before,
      after: input.after
    })
    return {
      path: result.path ?? (paths.length === 1 ? paths[0]! : paths.length === 0 ? "/" : paths),
      patterns: result.patterns,
      truncated: result.truncated,
      matches: result.matches.map((m) => ({
        path: m.path,
        line_number: m.line_number,
        line_text: m.line_text.length > LINE_LIMIT ? `${m.line_text.slice(0, LINE_LIMIT)}…` : m.line_text,
        submatches: (m.submatches ?? []).filter((s) => s.start < LINE_LIMIT),
        ...(m.type === "context" ? { context: true } : {})
      }))
    }
  })
})
