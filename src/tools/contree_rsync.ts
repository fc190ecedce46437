import { Effect, Schema } from "effect"
import { isAbsolute } from "node:path"
import { expandHome } from "../files/expandHome.js"
import { FileSync, SkipReason, type SyncProgress, type Tally } from "../services/FileSync.js"
import { fileSyncToolError } from "./fileSyncToolError.js"
import { AbsolutePath, noNul, optionalParam, PathParam, withDefault } from "./params.js"
import { defineTool } from "./Tool.js"
import { increasingProgress, ToolContext } from "./ToolContext.js"
import { invalidInput } from "./ToolError.js"

// A tree full of symlinks (node_modules/.bin …) must not flood the answer: the count is exact,
// the list is cut here.
const MAX_SKIPPED_LISTED = 100

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

/**
 * A sync's progress as one MCP figure: bytes walked, hashed and uploaded, against the sum of what
 * the walk found, what is to be hashed and what is to be uploaded (a total once the walk is done).
 * The message has the files and bytes of each.
 */
export const rsyncProgress = (p: SyncProgress): { readonly progress: number; readonly total: number | undefined; readonly message: string } => {
  const of = (done: Tally, total: Tally | undefined) =>
    total === undefined ? `${done.files} files (${mb(done.bytes)})` : `${done.files} of ${total.files} files (${mb(done.bytes)} of ${mb(total.bytes)})`
  const t = p.total
  return {
    progress: p.walked.bytes + p.hashed.bytes + p.uploaded.bytes,
    total: t === undefined ? undefined : t.walked.bytes + t.toHash.bytes + t.toUpload.bytes,
    message: t === undefined
      ? `walking: ${of(p.walked, undefined)} so far`
      : `walked ${of(p.walked, undefined)}; hashed ${of(p.hashed, t.toHash)}; uploaded ${of(p.uploaded, t.toUpload)}`
  }
}

const count = (description: string) => Schema.Int.annotations({ description })

export const contreeRsync = defineTool({
  name: "contree_rsync",
  title: "Sync a local directory for sandboxes",
  description: [
    "Sync a local directory to the ConTree file store and get a directory_state_id; pass it to contree_run to place the files at `destination` in the sandbox (with their permission bits). Free: no sandbox.",
    "Only content the server lacks is uploaded. Re-run it after local edits: the same source, destination, exclude and gitignore give the same id, files whose size, mtime, inode and mode are unchanged are not re-read, and deleted files disappear from the state.",
    "exclude takes .gitignore patterns relative to source: `__pycache__/` matches at any depth, `/build` only at the top, `!keep.log` re-includes. .gitignore files in the tree are honoured unless gitignore=false; exclude wins over them.",
    "Symlinks are not followed; they, FIFOs, sockets, devices and unreadable files are skipped and listed with a reason."
  ].join("\n"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    source: PathParam.annotations({ description: "Absolute local directory to sync (~ is expanded)" }),
    destination: AbsolutePath.annotations({ description: "Absolute directory in the sandbox where the files appear, e.g. /app" }),
    exclude: optionalParam(
      Schema.Array(noNul(Schema.String)),
      "Patterns to leave out, with .gitignore semantics, e.g. [\"node_modules/\", \"*.pyc\", \"/dist\", \".git/\"]"
    ),
    gitignore: withDefault(Schema.Boolean, true, "Honour .gitignore files found in the source tree")
  }),
  output: Schema.Struct({
    directory_state_id: count("Pass to contree_run as directory_state_id"),
    source: Schema.String.annotations({ description: "The resolved local directory" }),
    destination: Schema.String.annotations({ description: "Where the files appear in the sandbox" }),
    files: count("Files in the synced state"),
    bytes: count("Their total size in bytes"),
    hashed: count("Files read and hashed this time (new or changed)"),
    uploaded: count("Files whose content was uploaded this time"),
    uploaded_bytes: count("Bytes uploaded this time"),
    reused: count("Files that needed no upload (unchanged, or content already on the server)"),
    revalidated: count("Contents re-checked with the server because their last check was over 24 h ago"),
    removed: count("Files of the previous sync no longer present"),
    skipped: count("Entries skipped (symlinks, special files, unreadable files)"),
    skipped_entries: Schema.Array(Schema.Struct({
      path: Schema.String,
      reason: SkipReason,
      detail: Schema.optional(Schema.String)
    })).annotations({ description: `The skipped entries with their reason (at most ${MAX_SKIPPED_LISTED}); directories end with /` })
  }),
  handler: Effect.fn("contree_rsync")(function*(input) {
    const source = expandHome(input.source)
    if (!isAbsolute(source)) return yield* invalidInput(`source must be an absolute path (or start with ~), got: ${input.source}`)
    const fileSync = yield* FileSync
    const context = yield* ToolContext
    const report = increasingProgress(context)
    const result = yield* fileSync.sync({
      source,
      destination: input.destination,
      exclude: input.exclude ?? [],
      gitignore: input.gitignore,
      // Only a client that asked for progress makes the sync count and report.
      ...(context.wantsProgress
        ? { onProgress: (p: SyncProgress) => Effect.suspend(() => { const r = rsyncProgress(p); return report(r.progress, r.total, r.message) }) }
        : {})
    }).pipe(Effect.catchTag("FileSyncError", (error) => Effect.fail(fileSyncToolError(error))))
    return {
      directory_state_id: result.directoryStateId,
      source: result.source,
      destination: result.destination,
      files: result.files,
      bytes: result.bytes,
      hashed: result.hashed,
      uploaded: result.uploaded,
      uploaded_bytes: result.uploadedBytes,
      reused: result.reused,
      revalidated: result.revalidated,
      removed: result.removed,
      skipped: result.skipped.length,
      skipped_entries: result.skipped.slice(0, MAX_SKIPPED_LISTED)
    }
  })
})
