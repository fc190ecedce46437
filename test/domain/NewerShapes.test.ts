/** Decoding the current generation's shapes, and shapes that drifted further: the result always survives. */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Image } from "../../src/domain/Image.js"
import { DirectoryListing } from "../../src/domain/Inspect.js"
import { Operation, OperationList, operationListItems } from "../../src/domain/Operation.js"

const decodeOperation = Schema.decodeUnknownSync(Operation)

const newerRun = (metadata: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  decodeOperation({
    uuid: "op-1",
    status: "SUCCESS",
    kind: "instance",
    duration: 1.25,
    image_size: 4096,
    consumed_cpu: 0.02,
    consumed_memory: 8192,
    image_uuid: "img-1",
    result_image_uuid: "img-2",
    metadata: {
      command: "echo hi",
      image: "img-1",
      result: { state: { exit_code: 3 }, stdout: { value: "hi\n", encoding: "ascii" }, stderr: { value: "oops\n", encoding: "ascii" } },
      ...metadata
    },
    ...extra
  })

const assertResultKept = (op: Operation) => {
  const result = op.instance?.result
  assert.isDefined(result)
  assert.strictEqual(result?.state.exit_code, 3)
  assert.strictEqual(result?.stdout.value, "hi\n")
  assert.strictEqual(result?.stderr.value, "oops\n")
}

describe("newer shapes", () => {
  it("reads null env values, integer file modes and the new spawn fields of the echoed request", () => {
    const op = newerRun({
      env: { KEEP: "1", DROP: null },
      files: { "/a": { uuid: "f-1", mode: 493, uid: 1000, gid: 1000 }, "/b": { uuid: "f-2", mode: "0644" } },
      uid: 1000,
      gid: 1000,
      preserve_env: true,
      resources_limits: { max_layer_bytes: 1024 },
      networking: { enabled: false }
    })
    assertResultKept(op)
    assert.deepStrictEqual(op.instance?.env, { KEEP: "1", DROP: null })
    assert.strictEqual(op.instance?.files?.["/a"]?.mode, "0755")
    assert.deepStrictEqual(op.instance?.files?.["/b"], { uuid: "f-2", mode: "0644" })
    assert.strictEqual(op.instance?.uid, 1000)
    assert.strictEqual(op.instance?.preserve_env, true)
    assert.deepStrictEqual(op.instance?.networking, { enabled: false })
  })

  it("keeps the operation accounting of the current generation", () => {
    const op = newerRun({})
    assert.deepStrictEqual(
      [op.image_size, op.consumed_cpu, op.consumed_memory, op.image_uuid, op.result_image_uuid, op.resultImage],
      [4096, 0.02, 8192, "img-1", "img-2", "img-2"]
    )
    const [summary] = operationListItems(Schema.decodeUnknownSync(OperationList)([{
      uuid: "op-1",
      kind: "instance",
      status: "SUCCESS",
      image_size: 10,
      consumed_cpu: 1.5,
      consumed_memory: 2048,
      image_uuid: null,
      result_image_uuid: "img-2"
    }]))
    assert.deepStrictEqual([summary?.image_size, summary?.consumed_cpu, summary?.consumed_memory, summary?.image_uuid], [10, 1.5, 2048, null])
  })

  it("a field whose shape drifted is dropped, never the result: stdout and exit code stay", () => {
    const drifted = [
      { env: { A: 1 } },
      { env: "A=1" },
      { files: { "/a": { uuid: "f-1", mode: "rwxr-xr-x" } } },
      { files: ["f-1"] },
      { timeout: "30s" },
      { args: "a b" },
      { uid: "root" },
      { resources_limits: 1024 },
      { networking: true },
      { stdin: 42 },
      { something_new: { nested: [1, 2] } }
    ]
    for (const fields of drifted) assertResultKept(newerRun(fields))
    // Within `files`, a drifted field of an entry is dropped, and an entry without a uuid left out.
    const files = newerRun({ files: { "/a": { uuid: "f-1", mode: -1, uid: "root", gid: 0 }, "/b": { mode: "0644" } } }).instance?.files
    assert.deepStrictEqual(files, { "/a": { uuid: "f-1", gid: 0 } })
    assert.isNull(newerRun({ files: null }).instance?.files)
    const odd = newerRun({ files: JSON.parse('{"__proto__": {"uuid": "f-3"}}') }).instance?.files
    assert.deepStrictEqual(Object.keys(odd ?? {}), ["__proto__"])
    assert.strictEqual(Object.getPrototypeOf(odd), Object.prototype)
    assertResultKept(newerRun({}, { image_size: "4 KiB", consumed_cpu: null, duration: "1.2s", result: "img-2", something_new: true }))
  })

  it("a result whose parts drifted keeps what reads: an unknown encoding is text, odd resources are unknown (-1)", () => {
    const op = decodeOperation({
      uuid: "op-1",
      status: "SUCCESS",
      kind: "instance",
      metadata: {
        command: "echo hi",
        image: "img-1",
        result: {
          state: { exit_code: 3 },
          stdout: { value: "hi\n", encoding: "utf-8", truncated: "no" },
          stderr: { value: "oops\n", encoding: null },
          resources: { max_rss: "8M", user_cpu_time: 0.5, layer_bytes: 12 }
        }
      }
    })
    assertResultKept(op)
    assert.strictEqual(op.instance?.result?.resources.max_rss, -1)
    assert.strictEqual(op.instance?.result?.resources.user_cpu_time, 0.5)
    assert.strictEqual(op.instance?.result?.resources.layer_bytes, 12)
  })

  it("what is decoded encodes back and decodes the same (the waiter caches operations in their wire form)", () => {
    const op = newerRun({ env: { DROP: null }, files: { "/a": { uuid: "f-1", mode: 420 } }, networking: { enabled: true }, timeout: "x" })
    const again = decodeOperation(Schema.encodeSync(Operation)(op))
    assert.deepStrictEqual(again, op)
  })

  it("Image.operation_uuid and FileItem uid/gid/nlink are kept", () => {
    const image = Schema.decodeUnknownSync(Image)({ uuid: "img-1", tag: null, created_at: "2026-01-01T00:00:00Z", operation_uuid: "op-1" })
    assert.strictEqual(image.operation_uuid, "op-1")
    assert.strictEqual(Schema.decodeUnknownSync(Image)({ uuid: "img-2", operation_uuid: null }).operation_uuid, null)
    const listing = Schema.decodeUnknownSync(DirectoryListing)({
      path: "/etc",
      files: [{ path: "hosts", size: 10, owner: "root", group: 0, uid: 0, gid: 0, nlink: 1, mode: 33188, mtime: 1, is_regular: true }]
    })
    assert.deepStrictEqual([listing.files[0]?.uid, listing.files[0]?.gid, listing.files[0]?.nlink, listing.files[0]?.owner], [0, 0, 1, "root"])
  })
})
