import { Clock, type Context, Effect, Option, Schema } from "effect"
import { ContreeCache } from "../services/ContreeCache.js"
import { ContreeClient, type UploadBody } from "../services/ContreeClient.js"
import { ContreeApiError } from "../services/ContreeError.js"

/** After this long a remembered upload is checked again: the server may have collected it. */
export const REVALIDATE_AFTER_MS = 24 * 60 * 60 * 1000

/** A remembered fact: content with this sha256 is on the server as file `uuid`, last confirmed at `verifiedAt` (epoch ms). */
export interface KnownUpload {
  readonly uuid: string
  readonly sha256: string
  readonly size: number
  readonly verifiedAt: number
}

/**
 * Where remembered uploads are kept. contree_upload keeps them in the general cache
 * (`knownUploadsInCache`); contree_rsync in the file-sync database, written in its transaction.
 * A store that cannot read or write degrades to "unknown", which costs a lookup, never a wrong uuid.
 */
export interface KnownUploads {
  readonly get: (sha256: string) => Effect.Effect<Option.Option<KnownUpload>>
  readonly put: (known: KnownUpload) => Effect.Effect<void>
}

/** How the content came to be on the server: remembered and fresh, remembered and re-confirmed, found by hash, or sent now. */
export type UploadOutcome = "known" | "revalidated" | "found" | "uploaded"

export interface DeduplicatedUpload {
  readonly uuid: string
  readonly sha256: string
  readonly size: number
  readonly outcome: UploadOutcome
}

/**
 * Makes sure the server has the content with this sha256, sending it only when needed: the store
 * answers first (an entry older than 24 h is re-checked by uuid, else by hash), then a lookup by hash, and only
 * then are the bytes sent (a `File` body is streamed from disk). Time comes from the Effect clock.
 */
export const uploadDeduplicatedWith = (client: Context.Tag.Service<typeof ContreeClient>, store: KnownUploads) =>
(body: UploadBody, sha256: string, size: number): Effect.Effect<DeduplicatedUpload, ContreeApiError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const remember = (uuid: string, outcome: UploadOutcome) =>
      store.put({ uuid, sha256, size, verifiedAt: now }).pipe(Effect.as({ uuid, sha256, size, outcome }))
    const known = yield* store.get(sha256)
    if (Option.isSome(known)) {
      if (now - known.value.verifiedAt < REVALIDATE_AFTER_MS) return { uuid: known.value.uuid, sha256, size, outcome: "known" as const }
      if (yield* client.fileUuidExists(known.value.uuid)) return yield* remember(known.value.uuid, "revalidated")
    }
    // A server that cannot confirm a uuid (the current generation looks files up by hash only)
    // answers false above: the hash lookup then confirms the same upload, or names another.
    const existing = yield* client.findFileByHash(sha256)
    if (Option.isSome(existing)) {
      const same = Option.isSome(known) && known.value.uuid === existing.value.uuid
      return yield* remember(existing.value.uuid, same ? "revalidated" : "found")
    }
    const uploaded = yield* client.uploadFile(body)
    // What the server stored must be what was hashed: a file edited in between would otherwise be
    // remembered under the wrong content.
    if (uploaded.sha256 !== sha256) {
      return yield* new ContreeApiError({
        reason: "Conflict",
        message: `the content changed while it was uploaded (hashed ${sha256}, the server stored ${uploaded.sha256}); try again`,
        method: "POST",
        path: "/files"
      })
    }
    return yield* remember(uploaded.uuid, "uploaded")
  })

const KIND = "file_by_hash"
const Known = Schema.Struct({ uuid: Schema.String, sha256: Schema.String, size: Schema.Number, verified_at: Schema.Number })

/** Remembered uploads in the general cache, one `file_by_hash` entry per sha256. */
export const knownUploadsInCache = (cache: Context.Tag.Service<typeof ContreeCache>): KnownUploads => ({
  get: (sha256) =>
    cache.get(KIND, sha256).pipe(
      Effect.map(Option.flatMap((entry) => Schema.decodeUnknownOption(Known)(entry.data))),
      Effect.map(Option.map((k) => ({ uuid: k.uuid, sha256: k.sha256, size: k.size, verifiedAt: k.verified_at }))),
      Effect.orElseSucceed(() => Option.none())
    ),
  put: (known) =>
    cache.put(KIND, known.sha256, Schema.encodeSync(Known)({ uuid: known.uuid, sha256: known.sha256, size: known.size, verified_at: known.verifiedAt })).pipe(
      Effect.asVoid,
      Effect.catchAll((error) => Effect.logWarning(`cache write failed: ${error.message}`))
    )
})

/** `uploadDeduplicatedWith` over the general cache, as contree_upload uses it. */
export const uploadDeduplicated = (body: UploadBody, sha256: string, size: number) =>
  Effect.gen(function*() {
    const client = yield* ContreeClient
    const cache = yield* ContreeCache
    return yield* uploadDeduplicatedWith(client, knownUploadsInCache(cache))(body, sha256, size)
  })
