import { Schema } from "effect"
import { Image } from "../../src/domain/Image.js"
import type { SpawnRequest } from "../../src/domain/Instance.js"
import { Operation } from "../../src/domain/Operation.js"
import { encodeStream } from "../../src/domain/OutputStream.js"

export const IMAGE = "11111111-2222-3333-4444-555555555555"
export const CHILD = "66666666-7777-8888-9999-aaaaaaaaaaaa"

/** An operation decoded from its wire form, the way the client sees one. */
export const operation = (wire: Record<string, unknown>): Operation =>
  Schema.decodeUnknownSync(Operation)({ uuid: "op-1", status: "PENDING", kind: "instance", ...wire })

/** A finished run of `command` on `image`, with its process result. */
export const finishedRun = (options: {
  readonly uuid?: string
  readonly image?: string
  readonly command?: string
  readonly stdout?: string
  readonly exitCode?: number
  readonly resultImage?: string | null
  readonly status?: "SUCCESS" | "FAILED" | "CANCELLED"
}): Operation =>
  operation({
    uuid: options.uuid ?? "op-1",
    status: options.status ?? "SUCCESS",
    kind: "instance",
    duration: 1.5,
    metadata: {
      command: options.command ?? "echo hi",
      image: options.image ?? IMAGE,
      result: {
        state: { exit_code: options.exitCode ?? 0 },
        stdout: { value: options.stdout ?? "hi\n", encoding: "ascii" },
        stderr: { value: "", encoding: "ascii" }
      }
    },
    result: { image: options.resultImage ?? null, tag: null }
  })

export const image = (uuid: string, tag: string | null = null) => new Image({ uuid, tag, created_at: "2024-01-01T00:00:00Z" })

/** A spawn body with every field explicit, as the tools send it. */
export const spawnRequest = (image: string, command: string, overrides: Partial<SpawnRequest> = {}): SpawnRequest => ({
  command,
  image,
  hostname: "linuxkit",
  args: [],
  shell: true,
  env: {},
  cwd: "/root",
  disposable: true,
  stdin: encodeStream(""),
  timeout: 30,
  truncate_output_at: 65536,
  files: {},
  ...overrides
})
