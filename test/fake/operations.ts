/**
 * Operation lifecycle: PENDING for `pendingMs`, then EXECUTING for at least `executingMs` while
 * the work runs, then a terminal status. Cancelling aborts the work and discards its outcome.
 */
import { randomUUID } from "node:crypto"
import { setTimeout as delay } from "node:timers/promises"
import { FakeFilesystem, dirname } from "./FakeFilesystem.js"
import type { FakeStore } from "./FakeStore.js"
import { runShell } from "./FakeShell.js"
import { importedTree } from "./seedImages.js"
import type { SpawnSpec } from "./spawnRequest.js"
import { encodeStream } from "./streams.js"
import { FakeEventLog, type FakeOperation, type ImportMetadata, type InstanceResultJson, type OperationKind, TERMINAL_STATUSES } from "./types.js"

export interface Timing {
  readonly pendingMs: number
  readonly executingMs: number
}

/** Applies the outcome of finished work to its operation. */
type Commit = () => void

const createOperation = (
  store: FakeStore,
  kind: OperationKind,
  metadata: FakeOperation["metadata"],
  imageUuid: string | null
): FakeOperation => {
  const operation: FakeOperation = {
    uuid: randomUUID(),
    kind,
    status: "PENDING",
    error: null,
    createdAt: Date.now(),
    startedAt: null,
    finishedAt: null,
    imageUuid,
    metadata,
    result: null,
    abort: new AbortController(),
    events: new FakeEventLog()
  }
  store.operations.set(operation.uuid, operation)
  return operation
}

const fail = (operation: FakeOperation, message: string): void => {
  operation.status = "FAILED"
  operation.error = message
}

/** The daemon's closing events, once the operation is terminal (spec §1.5: spid 0). */
export const completeEvents = (operation: FakeOperation): void => {
  const durationMs = (operation.finishedAt ?? Date.now()) - (operation.startedAt ?? operation.createdAt)
  operation.events.push("shutdown", 0, { stopped_at: new Date().toISOString(), reason: "job_complete" })
  operation.events.push("completion", 0, {
    status: operation.status,
    result_image_uuid: operation.result?.image ?? null,
    error: operation.error,
    duration_ms: durationMs
  })
}

/** Drives an operation through its statuses in the background. */
const drive = (operation: FakeOperation, timing: Timing, work: (signal: AbortSignal) => Promise<Commit>): void => {
  const { signal } = operation.abort
  const lifecycle = async (): Promise<void> => {
    await delay(timing.pendingMs, undefined, { signal })
    operation.status = "EXECUTING"
    operation.startedAt = Date.now()
    operation.events.push("init", 0, { started_at: new Date().toISOString(), runtime_path: "/fake", verbose: false, init_pid: 1 })
    const [commit] = await Promise.all([work(signal), delay(timing.executingMs, undefined, { signal })])
    signal.throwIfAborted()
    commit()
    operation.finishedAt = Date.now()
    completeEvents(operation)
  }
  lifecycle().catch((error: unknown) => {
    if (signal.aborted) return // cancelled, reset or closed: the outcome is discarded
    fail(operation, error instanceof Error ? error.message : String(error))
    operation.finishedAt = Date.now()
    completeEvents(operation)
  })
}

const resources = (elapsedSeconds: number): Record<string, number> => ({
  block_input: 0,
  block_output: 0,
  cost: 0,
  elapsed_time: elapsedSeconds,
  involuntary_switches: 0,
  max_rss: 4096,
  monotonic_time: elapsedSeconds,
  page_faults: 0,
  page_faults_io: 0,
  shared_memory: 0,
  signals: 0,
  swaps: 0,
  system_cpu_time: 0.001,
  unshared_memory: 0,
  user_cpu_time: 0.001,
  voluntary_switches: 1
})

export const startInstance = (store: FakeStore, timing: Timing, spec: SpawnSpec): FakeOperation => {
  const { metadata, image } = spec
  const operation = createOperation(store, "instance", metadata, image.uuid)
  drive(operation, timing, async (signal) => {
    const fs = new FakeFilesystem(image.tree)
    for (const file of spec.files) {
      const uploaded = store.files.get(file.uuid)
      if (uploaded === undefined) return () => fail(operation, `File not found: ${file.uuid}`)
      fs.mkdir(dirname(file.path), true)
      fs.writeFile(file.path, uploaded.content, { mode: file.mode, uid: file.uid, gid: file.gid })
    }
    const started = performance.now()
    const env = mergeEnv(image.env, metadata.env)
    operation.events.push("spawn", 1, {
      pid: 1,
      command: metadata.command,
      args: metadata.args,
      shell: metadata.shell,
      cwd: metadata.cwd,
      uid: metadata.uid ?? 0,
      gid: metadata.gid ?? 0,
      timeout: metadata.timeout,
      truncate_at: metadata.truncate_output_at
    })
    const outcome = await runShell(fs, {
      command: metadata.command,
      args: metadata.args,
      shell: metadata.shell,
      env,
      cwd: metadata.cwd,
      hostname: metadata.hostname,
      stdin: spec.stdin,
      timeoutMs: metadata.timeout * 1000,
      signal,
      onOutput: (stream, data) => operation.events.push(stream, 1, encodeStream(data, Infinity))
    })
    const elapsedSeconds = (performance.now() - started) / 1000
    operation.events.push("exit", 1, {
      pid: 1,
      code: outcome.exitCode,
      signal: -1,
      timed_out: outcome.timedOut,
      duration_ms: Math.round(elapsedSeconds * 1000),
      resources: {}
    })
    return () => {
      const result: InstanceResultJson = {
        state: {
          exit_code: outcome.exitCode,
          pid: 1,
          signal: -1,
          timed_out: outcome.timedOut,
          continued: false,
          core_dump: false,
          stopped: false
        },
        resources: resources(elapsedSeconds),
        stdout: encodeStream(outcome.stdout, metadata.truncate_output_at),
        stderr: encodeStream(outcome.stderr, metadata.truncate_output_at)
      }
      metadata.result = result
      // An unchanged filesystem yields the input image rather than an identical copy.
      // preserve_env bakes the run's environment into its result image, which is then always new.
      const baked = metadata.preserve_env === true
      const output = metadata.disposable
        ? null
        : fs.changedFrom(image.tree) || baked
          ? store.addImage(fs.snapshot(), { parent: image.uuid, env: baked ? env : image.env, operationUuid: operation.uuid }).uuid
          : image.uuid
      operation.result = { image: output, tag: null }
      operation.status = "SUCCESS"
    }
  })
  return operation
}

export interface ImportSpec {
  readonly metadata: ImportMetadata
  /** Normalised `docker://host/path:tag` form, written into the image's /etc/os-release. */
  readonly reference: string
  readonly username: string
}

export const startImport = (store: FakeStore, timing: Timing, spec: ImportSpec): FakeOperation => {
  const operation = createOperation(store, "image_import", spec.metadata, null)
  drive(operation, timing, async () => {
    if (spec.reference.includes("notfound")) return () => fail(operation, "Image not found")
    if (spec.username === "bad") return () => fail(operation, "unauthorized")
    return () => {
      const { tag } = spec.metadata
      const image = store.addImage(importedTree(spec.reference), { tag, operationUuid: operation.uuid })
      operation.result = { image: image.uuid, tag }
      operation.status = "SUCCESS"
    }
  })
  return operation
}

/** False when the operation is already terminal. */
export const cancelOperation = (operation: FakeOperation): boolean => {
  if (TERMINAL_STATUSES.has(operation.status)) return false
  operation.status = "CANCELLED"
  operation.finishedAt = Date.now()
  operation.abort.abort()
  completeEvents(operation)
  return true
}

/** The image's baked environment under the run's; a null value unsets a baked variable. */
const mergeEnv = (baked: Readonly<Record<string, string>>, run: Readonly<Record<string, string | null>>): Record<string, string> => {
  const env: Record<string, string> = { ...baked }
  for (const [name, value] of Object.entries(run)) {
    if (value === null) delete env[name]
    else env[name] = value
  }
  return env
}
