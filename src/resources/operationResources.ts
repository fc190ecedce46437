import { Effect } from "effect"
import { decodeStream } from "../domain/OutputStream.js"
import { OperationWaiter } from "../services/OperationWaiter.js"
import { checkOperationId } from "../tools/params.js"
import { invalidInput, toToolError } from "../tools/ToolError.js"
import type { ResourceTemplate } from "./Resource.js"

const operationOfKind = (id: string, kind: "instance" | "image_import", label: string) =>
  Effect.gen(function*() {
    const valid = checkOperationId(id)
    if (valid !== true) return yield* invalidInput(`operation_id ${valid}`)
    const op = yield* (yield* OperationWaiter).get(id)
    if (op.kind !== kind) return yield* invalidInput(`Operation ${id} is not ${label} operation (kind=${op.kind})`)
    return op
  })

export const instanceOperation: ResourceTemplate = {
  name: "contree_instance_operation",
  title: "Run result",
  uriTemplate: "contree://operations/instance/{operation_id}",
  description: "JSON: a run's state, exit code, decoded stdout and stderr, result image and resource usage.",
  mimeType: "application/json",
  read: ({ operation_id }) =>
    Effect.gen(function*() {
      const op = yield* operationOfKind(operation_id ?? "", "instance", "an instance")
      const out: Record<string, unknown> = { state: op.status }
      if (op.error) out["error"] = op.error
      if (op.isTerminal) {
        out["result_image"] = op.resultImage
        if (op.result?.tag) out["result_tag"] = op.result.tag
      }
      const result = op.instance?.result
      if (result) {
        out["exit_code"] = result.state.exit_code
        out["timed_out"] = result.state.timed_out
        out["stdout"] = decodeStream(result.stdout).text
        out["stderr"] = decodeStream(result.stderr).text
        out["resources"] = { ...result.resources }
      }
      return JSON.stringify(out, null, 2)
    }).pipe(Effect.mapError(toToolError))
}

export const importOperation: ResourceTemplate = {
  name: "contree_import_operation",
  title: "Import result",
  uriTemplate: "contree://operations/import/{operation_id}",
  description: "Text: an import's state, result image and tag, source registry URL and error, one per line.",
  mimeType: "text/plain",
  read: ({ operation_id }) =>
    Effect.gen(function*() {
      const op = yield* operationOfKind(operation_id ?? "", "image_import", "an import")
      const lines = [`STATE: ${op.status}`]
      if (op.resultImage) lines.push(`RESULT_IMAGE: ${op.resultImage}`)
      if (op.result?.tag) lines.push(`RESULT_TAG: ${op.result.tag}`)
      const imported = op.importMetadata
      if (imported) lines.push(`REGISTRY_URL: ${imported.registry.url}`)
      if (op.error) lines.push("ERROR:", op.error)
      return lines.join("\n")
    }).pipe(Effect.mapError(toToolError))
}
