import { assert, describe, it } from "@effect/vitest"
import { toOperationView } from "../../src/tools/OperationView.js"
import { CHILD, finishedRun, IMAGE, operation } from "../support/fixtures.js"

describe("toOperationView", () => {
  it("a pending operation is only its id, kind and status", () => {
    assert.deepStrictEqual(toOperationView(operation({ uuid: "op-9", status: "PENDING", metadata: null, result: null })), {
      operation_id: "op-9",
      kind: "instance",
      status: "PENDING"
    })
  })

  it("an executing run shows its input image but no result fields", () => {
    const view = toOperationView(operation({ status: "EXECUTING", metadata: { command: "sleep 9", image: IMAGE } }))
    assert.deepStrictEqual(view, { operation_id: "op-1", kind: "instance", status: "EXECUTING", image: IMAGE })
  })

  it("flattens a finished run: exit code, decoded output, result image and duration at the top level", () => {
    const view = toOperationView(finishedRun({ stdout: "hi\n", exitCode: 3, resultImage: CHILD }))
    assert.deepStrictEqual(view, {
      operation_id: "op-1",
      kind: "instance",
      status: "SUCCESS",
      image: IMAGE,
      exit_code: 3,
      timed_out: false,
      stdout: "hi\n",
      stdout_truncated: false,
      stderr: "",
      stderr_truncated: false,
      result_image: CHILD,
      duration: 1.5
    })
  })

  it("decodes base64 output and marks output that is not UTF-8", () => {
    const view = toOperationView(operation({
      status: "SUCCESS",
      metadata: {
        command: "x",
        image: IMAGE,
        result: {
          state: { exit_code: -1, timed_out: true, signal: 9 },
          stdout: { value: Buffer.from("ünï", "utf8").toString("base64"), encoding: "base64", truncated: true },
          stderr: { value: Buffer.from([0xff, 0x00]).toString("base64"), encoding: "base64" }
        }
      }
    }))
    assert.strictEqual(view.stdout, "ünï")
    assert.isUndefined(view.stdout_encoding)
    assert.isTrue(view.stdout_truncated)
    assert.strictEqual(view.stderr, Buffer.from([0xff, 0x00]).toString("base64"))
    assert.strictEqual(view.stderr_encoding, "base64")
    assert.strictEqual(view.exit_code, -1)
    assert.strictEqual(view.signal, 9)
    assert.isTrue(view.timed_out)
  })

  it("shows the error of a failed operation and a null result image", () => {
    const view = toOperationView(operation({ status: "FAILED", error: "image not found", metadata: null }))
    assert.strictEqual(view.error, "image not found")
    assert.isNull(view.result_image)
  })

  it("shows an import's registry URL, result image and tag", () => {
    const view = toOperationView(operation({
      kind: "image_import",
      status: "SUCCESS",
      metadata: { registry: { url: "docker://docker.io/library/alpine:3" }, tag: "alpine:3", timeout: 300 },
      result: { image: CHILD, tag: "alpine:3" }
    }))
    assert.strictEqual(view.kind, "image_import")
    assert.strictEqual(view.registry_url, "docker://docker.io/library/alpine:3")
    assert.strictEqual(view.result_image, CHILD)
    assert.strictEqual(view.result_tag, "alpine:3")
    assert.isUndefined(view.image)
  })

  it("reads the result image from the newer result_image_uuid field too", () => {
    const view = toOperationView(operation({ status: "SUCCESS", result: null, result_image_uuid: CHILD }))
    assert.strictEqual(view.result_image, CHILD)
  })
})
