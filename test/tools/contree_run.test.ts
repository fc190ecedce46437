import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schema } from "effect"
import { SpawnRequest } from "../../src/domain/Instance.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { OperationWaiter, type WaitOptions, WaitTimeout } from "../../src/services/OperationWaiter.js"
import { contreeRun } from "../../src/tools/contree_run.js"
import { finishedRun, IMAGE, image, operation } from "../support/fixtures.js"
import { apiError, call, callFails, type Progress, toolServices } from "../support/tools.js"

/** Records spawn requests, tracked ids and wait options; waits end with `result`. */
const harness = (result = finishedRun({ uuid: "op-1", stdout: "hello\n" })) => {
  const state = {
    spawned: [] as Array<unknown>,
    tracked: [] as Array<string>,
    waits: [] as Array<{ readonly id: string; readonly options: WaitOptions | undefined }>,
    resolved: [] as Array<string>,
    progress: [] as Array<Progress>
  }
  const client = Layer.mock(ContreeClient, {
    spawnInstance: (request) => Effect.sync(() => (state.spawned.push(Schema.encodeSync(SpawnRequest)(request)), "op-1")),
    resolveTag: (tag) =>
      Effect.suspend(() => {
        state.resolved.push(tag)
        return tag === "python:3.11" ? Effect.succeed(image(IMAGE, tag)) : Effect.fail(apiError("NotFound", "tag not found", 404))
      })
  })
  const waiter = Layer.mock(OperationWaiter, {
    track: (id) => Effect.sync(() => void state.tracked.push(id)),
    wait: (id, options) =>
      Effect.gen(function*() {
        state.waits.push({ id, options })
        if (options?.onProgress) yield* options.onProgress(operation({ uuid: id, status: "EXECUTING" }))
        return result
      })
  })
  return { state, layer: toolServices({ client, waiter, progress: state.progress }) }
}

describe("contree_run", () => {
  it.effect("sends the exact spawn body, with our defaults made explicit but cwd left to the image (and the backend)", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeRun, { command: "echo hello", image: IMAGE })
      assert.deepStrictEqual(h.state.spawned, [{
        command: "echo hello",
        image: IMAGE,
        hostname: "linuxkit",
        args: [],
        shell: true,
        env: {},
        disposable: true,
        stdin: { value: "", encoding: "ascii", truncated: false },
        timeout: 30,
        truncate_output_at: 8000,
        files: {}
      }])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("passes every option through, and files get mode 0644", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeRun, {
        command: "/usr/bin/env",
        image: IMAGE,
        shell: false,
        env: { A: "1" },
        cwd: "/work",
        timeout: 60,
        disposable: false,
        stdin: "input ✓",
        files: { "/app/main.py": "file-uuid-1" },
        truncate_output_at: 100
      })
      assert.deepStrictEqual(h.state.spawned, [{
        command: "/usr/bin/env",
        image: IMAGE,
        hostname: "linuxkit",
        args: [],
        shell: false,
        env: { A: "1" },
        cwd: "/work",
        disposable: false,
        stdin: { value: Buffer.from("input ✓").toString("base64"), encoding: "base64", truncated: false },
        timeout: 60,
        truncate_output_at: 100,
        files: { "/app/main.py": { uuid: "file-uuid-1", mode: "0644", uid: 0, gid: 0 } }
      }])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("sends stdin that is ASCII as an ascii stream", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeRun, { command: "cat", image: IMAGE, stdin: "abc\n" })
      assert.deepStrictEqual((h.state.spawned[0] as { stdin: unknown }).stdin, { value: "abc\n", encoding: "ascii", truncated: false })
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("tracks the operation, waits for it (its timeout plus the grace) and returns the flat view", () => {
    const h = harness()
    return Effect.gen(function*() {
      const out = yield* call(contreeRun, { command: "echo hello", image: IMAGE, timeout: 10 })
      assert.deepStrictEqual(h.state.tracked, ["op-1"])
      assert.strictEqual(h.state.waits[0]?.id, "op-1")
      assert.isTrue(Duration.equals(h.state.waits[0]?.options?.timeout ?? Duration.zero, Duration.sum(Duration.seconds(10), Duration.minutes(5))))
      assert.deepStrictEqual(out, {
        operation_id: "op-1",
        kind: "instance",
        status: "SUCCESS",
        image: IMAGE,
        exit_code: 0,
        timed_out: false,
        stdout: "hello\n",
        stdout_truncated: false,
        stderr: "",
        stderr_truncated: false,
        result_image: null,
        duration: 1.5
      })
      assert.strictEqual(h.state.progress.length, 1)
      assert.include(h.state.progress[0]?.message ?? "", "EXECUTING")
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("wait=false returns the operation id as PENDING without waiting", () => {
    const h = harness()
    return Effect.gen(function*() {
      const out = yield* call(contreeRun, { command: "sleep 100", image: IMAGE, wait: false })
      assert.deepStrictEqual(out, { operation_id: "op-1", kind: "instance", status: "PENDING" })
      assert.deepStrictEqual(h.state.tracked, ["op-1"])
      assert.deepStrictEqual(h.state.waits, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("normalises a lenient UUID before sending it", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeRun, { command: "true", image: `{${IMAGE.toUpperCase()}}`, wait: false })
      assert.strictEqual((h.state.spawned[0] as { image: string }).image, IMAGE)
      assert.deepStrictEqual(h.state.resolved, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("resolves tag: references", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeRun, { command: "true", image: "tag:python:3.11", wait: false })
      assert.deepStrictEqual(h.state.resolved, ["python:3.11"])
      assert.strictEqual((h.state.spawned[0] as { image: string }).image, IMAGE)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("refuses a junk image reference before any request", () => {
    const h = harness()
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRun, { command: "true", image: "ubuntu:latest" })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "ubuntu:latest")
      assert.deepStrictEqual(h.state.resolved, [])
      assert.deepStrictEqual(h.state.spawned, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("an unknown tag is NotFound, with a hint", () => {
    const h = harness()
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRun, { command: "true", image: "tag:nope:1" })
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "no image has the tag 'nope:1'")
      assert.include(error.message, "contree_list_images")
      assert.deepStrictEqual(h.state.spawned, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("validates input, naming the field, before any request", () => {
    const h = harness()
    return Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ image: IMAGE }, "command"],
        [{ command: "", image: IMAGE }, "command"],
        [{ command: "x", image: IMAGE, timeout: "10" }, "timeout"],
        [{ command: "x", image: IMAGE, timeout: 0 }, "timeout"],
        [{ command: "x", image: IMAGE, timeout: 1.5 }, "timeout"],
        [{ command: "x", image: IMAGE, cwd: "relative" }, "cwd"],
        [{ command: "x", image: IMAGE, files: { "relative/path": "f" } }, "files"],
        [{ command: "x", image: IMAGE, env: { A: 1 } }, "env.A"],
        [{ command: "x", image: IMAGE, truncate_output_at: 0 }, "truncate_output_at"]
      ]
      for (const [args, field] of cases) {
        const error = yield* callFails(contreeRun, args)
        assert.strictEqual(error.reason, "InvalidInput", JSON.stringify(args))
        assert.include(error.message, field, JSON.stringify(args))
      }
      assert.deepStrictEqual(h.state.spawned, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("rejects an unknown argument, naming it", () => {
    const h = harness()
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRun, { command: "x", image: IMAGE, bogus: 1 })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "bogus")
      assert.deepStrictEqual(h.state.spawned, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("treats null optional arguments as absent", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeRun, { command: "x", image: IMAGE, env: null, stdin: null, files: null, wait: false })
      const spawned = h.state.spawned[0] as { env: unknown; files: unknown }
      assert.deepStrictEqual(spawned.env, {})
      assert.deepStrictEqual(spawned.files, {})
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("turns a wait timeout into a Timeout error", () => {
    const client = Layer.mock(ContreeClient, { spawnInstance: () => Effect.succeed("op-1") })
    const waiter = Layer.mock(OperationWaiter, {
      track: () => Effect.void,
      wait: (id) => Effect.fail(new WaitTimeout({ operationId: id, message: `operation ${id} did not finish in time, so it was cancelled` }))
    })
    return Effect.gen(function*() {
      const error = yield* callFails(contreeRun, { command: "x", image: IMAGE })
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.message, "op-1")
    }).pipe(Effect.provide(toolServices({ client, waiter })))
  })
})
