import { Effect, Schedule } from "effect"
import type { HostFileProgress } from "../services/HostFileStore.js"
import type { SyncProgress, Tally } from "../services/FileSync.js"
import type { WalkedFile } from "../files/walkTree.js"

const EVERY = "250 millis"

/**
 * The counters of one sync and their reports. Counting is plain arithmetic on every file; a
 * fiber reports them every 250 ms while they change (the walk yields to the event loop often
 * enough for it to run), and each phase end reports at once. Without a callback nothing runs.
 */
export const progressTally = (onProgress: ((progress: SyncProgress) => Effect.Effect<void>) | undefined) =>
  Effect.gen(function*() {
    const walked = { files: 0, bytes: 0 }
    const hashed = { files: 0, bytes: 0 }
    const uploaded = { files: 0, bytes: 0 }
    let total: { walked: Tally; toHash: Tally; toUpload: { files: number; bytes: number } } | undefined
    let last = ""
    // One report at a time: the ticker's send is finished before a phase end's (the last one's
    // above all) is considered, so no report can reach the client after the sync's result.
    const sending = yield* Effect.makeSemaphore(1)
    const report = sending.withPermits(1)(Effect.suspend(() => {
      if (onProgress === undefined) return Effect.void
      const progress: SyncProgress = {
        walked: { ...walked },
        hashed: { ...hashed },
        uploaded: { ...uploaded },
        total: total === undefined ? undefined : { walked: total.walked, toHash: total.toHash, toUpload: { ...total.toUpload } }
      }
      const key = JSON.stringify(progress)
      if (key === last) return Effect.void
      last = key
      return Effect.uninterruptible(onProgress(progress))
    }))
    if (onProgress !== undefined) yield* Effect.forkScoped(Effect.repeat(Effect.delay(report, EVERY), Schedule.forever))
    const add = (tally: { files: number; bytes: number }, files: number, bytes: number) => {
      tally.files += files
      tally.bytes += bytes
    }
    const stored: HostFileProgress = ({ phase, files, bytes }) => Effect.sync(() => add(phase === "hashed" ? hashed : uploaded, files, bytes))
    return {
      walkedFile: onProgress === undefined ? undefined : (file: WalkedFile) => add(walked, 1, file.size),
      /** The walk is done: these files are to be hashed (and, until hashing says otherwise, uploaded). */
      walked: (toHash: ReadonlyArray<WalkedFile>, storedAsHashed: boolean) =>
        Effect.suspend(() => {
          const bytes = toHash.reduce((sum, file) => sum + file.size, 0)
          total = {
            walked: { ...walked },
            toHash: { files: toHash.length, bytes },
            toUpload: storedAsHashed ? { files: toHash.length, bytes } : { files: 0, bytes: 0 }
          }
          return report
        }),
      hashedFile: (bytes: number) => Effect.sync(() => add(hashed, 1, bytes)),
      stored,
      /** Hashing is done: these contents are to be made sure of on the server. */
      toUpload: (contents: Iterable<{ readonly size: number }>) =>
        Effect.suspend(() => {
          for (const content of contents) if (total !== undefined) add(total.toUpload, 1, content.size)
          return report
        }),
      uploadedFile: (bytes: number) => Effect.sync(() => add(uploaded, 1, bytes)),
      /** The last report: the totals become what was done (files that vanished, contents found deduplicated). */
      done: Effect.suspend(() => {
        total = { walked: { ...walked }, toHash: { ...hashed }, toUpload: { ...uploaded } }
        return report
      })
    }
  })
