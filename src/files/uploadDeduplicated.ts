import { Effect, Option, Schema } from "effect"
import type { UploadedFile } from "../domain/Inspect.js"
import { ContreeCache } from "../services/ContreeCache.js"
import { ContreeClient, type UploadBody } from "../services/ContreeClient.js"

const KIND = "file_by_hash"
// After this long a remembered upload is checked again: the server may have collected it.
const REVALIDATE_AFTER_MS = 24 * 60 * 60 * 1000

const Known = Schema.Struct({ uuid: Schema.String, sha256: Schema.String, size: Schema.Number, verified_at: Schema.Number })

/**
 * Uploads content unless the server already has it: the local cache answers first (re-checked
 * with the server after 24 h), then a lookup by hash, and only then are the bytes sent.
 */
export const uploadDeduplicated = (body: UploadBody, sha256: string, size: number) =>
  Effect.gen(function*() {
    const client = yield* ContreeClient
    const cache = yield* ContreeCache
    const remember = (file: UploadedFile) =>
      cache.put(KIND, sha256, Schema.encodeSync(Known)({ uuid: file.uuid, sha256, size, verified_at: Date.now() })).pipe(
        Effect.catchAll((error) => Effect.logWarning(`cache write failed: ${error.message}`)),
        Effect.as({ uuid: file.uuid, sha256, size })
      )
    const known = yield* cache.get(KIND, sha256).pipe(
      Effect.map(Option.flatMap((entry) => Schema.decodeUnknownOption(Known)(entry.data))),
      Effect.orElseSucceed(() => Option.none<typeof Known.Type>())
    )
    if (Option.isSome(known)) {
      if (Date.now() - known.value.verified_at < REVALIDATE_AFTER_MS) return { uuid: known.value.uuid, sha256, size }
      if (yield* client.fileUuidExists(known.value.uuid)) return yield* remember(known.value)
    }
    const existing = yield* client.findFileByHash(sha256)
    if (Option.isSome(existing)) return yield* remember(existing.value)
    return yield* remember(yield* client.uploadFile(body))
  })
