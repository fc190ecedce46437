import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { guideSectionNames, guides } from "../../src/content/guides.js"
import { guideResources } from "../../src/resources/guideResources.js"
import { imageLineage, imageLs, imageRead } from "../../src/resources/imageResources.js"
import { importOperation, instanceOperation } from "../../src/resources/operationResources.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { recordOperation } from "../../src/services/ImageLineage.js"
import { OperationWaiter } from "../../src/services/OperationWaiter.js"
import { CHILD, finishedRun, IMAGE, image, operation } from "../support/fixtures.js"
import { apiError, toolServices } from "../support/tools.js"

describe("guide resources", () => {
  it.effect("serve each guide section as markdown", () =>
    Effect.gen(function*() {
      assert.strictEqual(guideResources.length, guideSectionNames.length)
      for (const resource of guideResources) {
        const section = resource.uri.replace("contree://guide/", "") as (typeof guideSectionNames)[number]
        assert.strictEqual(yield* resource.read, guides[section].content)
        assert.strictEqual(resource.mimeType, "text/markdown")
      }
    }).pipe(Effect.provide(toolServices())))
})

describe("image resources", () => {
  it.effect("read gives text, or 'base64:' and base64 for other bytes", () => {
    const client = Layer.mock(ContreeClient, {
      readFile: (_, path) => Effect.succeed(path === "/bin" ? Uint8Array.from([0xff, 0x00]) : Buffer.from("text"))
    })
    return Effect.gen(function*() {
      assert.strictEqual(yield* imageRead.read({ image: IMAGE, path: "etc/x" }), "text")
      assert.strictEqual(yield* imageRead.read({ image: IMAGE, path: "bin" }), `base64:${Buffer.from([0xff, 0x00]).toString("base64")}`)
    }).pipe(Effect.provide(toolServices({ client })))
  })

  it.effect("ls treats '.' and '' as the root and caches the text listing", () => {
    const listed: Array<string> = []
    const client = Layer.mock(ContreeClient, {
      listDirectoryText: (uuid, path) => Effect.sync(() => (listed.push(`${uuid}:${path}`), `listing of ${path}`))
    })
    return Effect.gen(function*() {
      assert.strictEqual(yield* imageLs.read({ image: IMAGE, path: "." }), "listing of /")
      assert.strictEqual(yield* imageLs.read({ image: IMAGE, path: "" }), "listing of /")
      assert.strictEqual(yield* imageLs.read({ image: IMAGE, path: "usr/lib" }), "listing of /usr/lib")
      assert.deepStrictEqual(listed, [`${IMAGE}:/`, `${IMAGE}:/usr/lib`])
    }).pipe(Effect.provide(toolServices({ client })))
  })

  it.effect("lineage looks a UUID up as given and resolves a tag first", () => {
    const client = Layer.mock(ContreeClient, { resolveTag: () => Effect.succeed(image(CHILD, "app:1")) })
    return Effect.gen(function*() {
      yield* recordOperation(finishedRun({ image: IMAGE, resultImage: CHILD }))
      const byTag = JSON.parse(yield* imageLineage.read({ image: "tag:app:1" }))
      assert.strictEqual(byTag.image, CHILD)
      assert.strictEqual(byTag.parent, IMAGE)
      assert.strictEqual(byTag.depth, 1)
      const unknown = JSON.parse(yield* imageLineage.read({ image: "77777777-7777-7777-7777-777777777777" }))
      assert.isFalse(unknown.is_known)
    }).pipe(Effect.provide(toolServices({ client })))
  })

  it.effect("a missing file fails with the API's message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(imageRead.read({ image: IMAGE, path: "/nope" }))
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "no such file")
    }).pipe(Effect.provide(toolServices({
      client: Layer.mock(ContreeClient, { readFile: () => Effect.fail(apiError("NotFound", "no such file", 404)) })
    }))))
})

const [RUN, IMP, IMP_FAILED] = ["aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003"]

describe("operation resources", () => {
  const waiter = Layer.mock(OperationWaiter, {
    get: (id) =>
      Effect.succeed(
        id === IMP
          ? operation({
            uuid: id,
            kind: "image_import",
            status: "SUCCESS",
            metadata: { registry: { url: "docker://alpine" } },
            result: { image: CHILD, tag: "alpine:3" }
          })
          : id === IMP_FAILED
          ? operation({ uuid: id, kind: "image_import", status: "FAILED", error: "pull denied", metadata: { registry: { url: "docker://x" } } })
          : finishedRun({ uuid: id, stdout: "out", exitCode: 1, resultImage: CHILD })
      )
  })

  it.effect("an instance operation is JSON with state, exit code, output and result image", () =>
    Effect.gen(function*() {
      const json = JSON.parse(yield* instanceOperation.read({ operation_id: RUN }))
      assert.strictEqual(json.state, "SUCCESS")
      assert.strictEqual(json.exit_code, 1)
      assert.strictEqual(json.stdout, "out")
      assert.strictEqual(json.result_image, CHILD)
      assert.isFalse(json.timed_out)
      assert.isObject(json.resources)
    }).pipe(Effect.provide(toolServices({ waiter }))))

  it.effect("an import operation is text, one fact per line", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        yield* importOperation.read({ operation_id: IMP }),
        `STATE: SUCCESS\nRESULT_IMAGE: ${CHILD}\nRESULT_TAG: alpine:3\nREGISTRY_URL: docker://alpine`
      )
      assert.strictEqual(
        yield* importOperation.read({ operation_id: IMP_FAILED }),
        "STATE: FAILED\nREGISTRY_URL: docker://x\nERROR:\npull denied"
      )
    }).pipe(Effect.provide(toolServices({ waiter }))))

  it.effect("the wrong kind is refused", () =>
    Effect.gen(function*() {
      assert.include((yield* Effect.flip(importOperation.read({ operation_id: RUN }))).message, "not an import operation")
      assert.include((yield* Effect.flip(instanceOperation.read({ operation_id: IMP }))).message, "not an instance operation")
    }).pipe(Effect.provide(toolServices({ waiter }))))

  it.effect("an id that is not a UUID is refused before any lookup, naming operation_id", () =>
    Effect.gen(function*() {
      for (const id of ["run", "../x", `${RUN}\u0000`, ""]) {
        const error = yield* Effect.flip(instanceOperation.read({ operation_id: id }))
        assert.strictEqual(error.reason, "InvalidInput")
        assert.include(error.message, "operation_id must be an operation id")
      }
    }).pipe(Effect.provide(toolServices())))
})
