/** The fake backend's state, as exposed on `FakeContreeApi.state`. */
import type { FsTree } from "./FakeFilesystem.js"
import type { StreamJson } from "./streams.js"

export interface FakeImage {
  readonly uuid: string
  /** At most one tag per image; tags are unique across images. */
  tag: string | null
  /** Epoch milliseconds. */
  readonly createdAt: number
  readonly parent: string | null
  readonly tree: FsTree
  /** Environment baked in by a run with `preserve_env`; later runs on the image start with it. */
  readonly env: Readonly<Record<string, string>>
  /** The operation that made it; null for seeded and added images. */
  readonly operationUuid: string | null
}

export interface FakeUploadedFile {
  readonly uuid: string
  readonly sha256: string
  readonly size: number
  readonly content: Buffer
  readonly createdAt: number
}

export type OperationStatus = "PENDING" | "ASSIGNED" | "EXECUTING" | "SUCCESS" | "FAILED" | "CANCELLED"
export type OperationKind = "instance" | "image_import"

export const TERMINAL_STATUSES: ReadonlySet<OperationStatus> = new Set(["SUCCESS", "FAILED", "CANCELLED"])

export interface InstanceFileJson {
  readonly uuid: string
  /** Normalised to four octal digits, e.g. "0644", whatever form the client sent. */
  readonly mode: string
  readonly uid: number
  readonly gid: number
}

export interface InstanceResultJson {
  readonly state: {
    readonly exit_code: number
    readonly pid: number
    readonly signal: number
    readonly timed_out: boolean
    readonly continued: boolean
    readonly core_dump: boolean
    readonly stopped: boolean
  }
  readonly resources: Readonly<Record<string, number>>
  readonly stdout: StreamJson
  readonly stderr: StreamJson
}

/** The spawn request echoed back (spec §2.11); `result` stays null until the process ends. */
export interface InstanceMetadata {
  readonly command: string
  readonly image: string
  readonly hostname: string
  readonly args: readonly string[]
  readonly shell: boolean
  readonly env: Readonly<Record<string, string | null>>
  readonly cwd: string
  readonly disposable: boolean
  readonly stdin: StreamJson
  readonly timeout: number
  readonly truncate_output_at: number
  readonly files: Readonly<Record<string, InstanceFileJson>>
  /** The current generation's fields, echoed only when the request set them. */
  readonly uid?: number
  readonly gid?: number
  readonly preserve_env?: boolean
  readonly resources_limits?: { readonly max_layer_bytes?: number }
  readonly networking?: { readonly enabled: boolean }
  result: InstanceResultJson | null
}

/** The import request echoed back, without credentials. */
export interface ImportMetadata {
  readonly registry: { readonly url: string }
  readonly tag: string | null
  readonly timeout: number
}

export interface FakeOperation {
  readonly uuid: string
  readonly kind: OperationKind
  status: OperationStatus
  error: string | null
  readonly createdAt: number
  /** Epoch milliseconds when the operation entered EXECUTING; null before that. */
  startedAt: number | null
  finishedAt: number | null
  /** The input image of an instance; null for imports. */
  readonly imageUuid: string | null
  readonly metadata: InstanceMetadata | ImportMetadata
  /** Set on SUCCESS: the output image (null for disposable runs) and the assigned tag. */
  result: { readonly image: string | null; readonly tag: string | null } | null
  /** Aborted on cancel, reset and close; stops the run and discards its outcome. */
  readonly abort: AbortController
  /** What `GET /operations/{id}/events` serves. */
  readonly events: FakeEventLog
}

/**
 * Which generation of the API the fake speaks (spec: contree-api.md, the older; contree-api-current.md
 * §1, the current). `both` (the default) answers both where they do not clash, the lookup query
 * winning over the listing; `current` is a server that speaks only the current generation;
 * `legacy` one that speaks only the older (no file paths, no event stream, no grep or archive,
 * `{"operations": [...]}` listings).
 */
export type Generation = "current" | "legacy" | "both"

/**
 * An operation's event log (spec §1.5), for `GET /operations/{id}/events`: numbered events
 * appended as the fake runs (init and spawn when it starts executing, output as the shell writes
 * it, exit, shutdown and completion when it ends), and a wake-up for followers.
 */
export interface FakeEvent {
  readonly id: number
  readonly ts: string
  readonly spid: number
  readonly type: string
  readonly data: unknown
}

export class FakeEventLog {
  readonly events: FakeEvent[] = []
  private readonly listeners = new Set<() => void>()

  get completed(): boolean {
    return this.events.some((event) => event.type === "completion")
  }

  push(type: string, spid: number, data: unknown): void {
    if (this.completed) return
    this.events.push({ id: this.events.length + 1, ts: new Date().toISOString(), spid, type, data })
    for (const listener of this.listeners) listener()
  }

  /** Calls `listener` on every new event until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
