/** Wire (JSON) representations of the fake's state objects. */
import type { FakeImage, FakeOperation, FakeUploadedFile } from "./types.js"

const isoTime = (epochMs: number): string => new Date(epochMs).toISOString()

export const imageJson = (image: FakeImage) => ({
  uuid: image.uuid,
  tag: image.tag,
  created_at: isoTime(image.createdAt),
  operation_uuid: image.operationUuid
})

export const fileJson = (file: FakeUploadedFile) => ({
  uuid: file.uuid,
  sha256: file.sha256,
  size: file.size,
  created_at: isoTime(file.createdAt),
  updated_at: isoTime(file.createdAt)
})

/** Seconds from creation until the operation ended (or until now while it is active). */
const durationSeconds = (operation: FakeOperation): number =>
  ((operation.finishedAt ?? Date.now()) - operation.createdAt) / 1000

/** The current generation's accounting (spec §1.4): bytes written, CPU seconds, peak memory. */
const accounting = (operation: FakeOperation) => {
  const result = "command" in operation.metadata ? operation.metadata.result : null
  return {
    image_size: 0,
    consumed_cpu: result === null ? 0 : (result.resources.user_cpu_time ?? 0) + (result.resources.system_cpu_time ?? 0),
    consumed_memory: result === null ? 0 : result.resources.max_rss ?? 0
  }
}

/** OperationSummary (spec §2.10, §1.4), an item of the bare array `GET /operations` returns. */
export const operationSummaryJson = (operation: FakeOperation) => ({
  ...accounting(operation),
  uuid: operation.uuid,
  kind: operation.kind,
  status: operation.status,
  error: operation.error,
  created_at: isoTime(operation.createdAt),
  duration: durationSeconds(operation),
  image_uuid: operation.imageUuid,
  result_image_uuid: operation.result?.image ?? null
})

/** OperationResponse (spec §2.11): the process outcome lives in `metadata.result`. */
export const operationJson = (operation: FakeOperation) => ({
  uuid: operation.uuid,
  status: operation.status,
  kind: operation.kind,
  error: operation.error,
  created_at: isoTime(operation.createdAt),
  duration: durationSeconds(operation),
  ...accounting(operation),
  image_uuid: operation.imageUuid,
  metadata: operation.metadata,
  result: operation.result,
  result_image_uuid: operation.result?.image ?? null
})
