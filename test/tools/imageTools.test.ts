import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DirectoryListing, FileItem } from "../../src/domain/Inspect.js"
import { ContreeClient, type ListImagesQuery } from "../../src/services/ContreeClient.js"
import { contreeGetImage } from "../../src/tools/contree_get_image.js"
import { contreeListFiles } from "../../src/tools/contree_list_files.js"
import { contreeListImages } from "../../src/tools/contree_list_images.js"
import { contreeReadFile, READ_LIMIT } from "../../src/tools/contree_read_file.js"
import { contreeSetTag } from "../../src/tools/contree_set_tag.js"
import { CHILD, IMAGE, image } from "../support/fixtures.js"
import { apiError, call, callFails, toolServices } from "../support/tools.js"

describe("contree_list_images", () => {
  const harness = () => {
    const queries: Array<ListImagesQuery> = []
    const client = Layer.mock(ContreeClient, {
      listImages: (q) => Effect.sync(() => (queries.push(q), [image(IMAGE, "python:3.11"), image(CHILD)]))
    })
    return { queries, layer: toolServices({ client }) }
  }

  it.effect("lists images with defaults and returns uuid, tag and created_at", () => {
    const h = harness()
    return Effect.gen(function*() {
      const out = yield* call(contreeListImages, {})
      assert.deepStrictEqual(out, {
        images: [
          { uuid: IMAGE, tag: "python:3.11", created_at: "2024-01-01T00:00:00Z" },
          { uuid: CHILD, tag: null, created_at: "2024-01-01T00:00:00Z" }
        ]
      })
      assert.deepStrictEqual(h.queries, [{
        limit: 100,
        offset: 0,
        tagged: undefined,
        tagPrefix: undefined,
        since: undefined,
        until: undefined
      }])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("strips trailing ':', '/' and '.' from tag_prefix, dropping a prefix that becomes empty", () => {
    const h = harness()
    return Effect.gen(function*() {
      for (const prefix of ["python:", "python/", "python.", "python:/.", "python"]) {
        yield* call(contreeListImages, { tag_prefix: prefix })
      }
      yield* call(contreeListImages, { tag_prefix: ":/" })
      yield* call(contreeListImages, { tag_prefix: "common/python:3.11" })
      assert.deepStrictEqual(h.queries.map((q) => q.tagPrefix), [
        "python",
        "python",
        "python",
        "python",
        "python",
        undefined,
        "common/python:3.11"
      ])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("passes paging and filters through, and validates the limit", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeListImages, { limit: 5, offset: 10, tagged: true, since: "1h", until: "" })
      assert.deepStrictEqual(h.queries[0], { limit: 5, offset: 10, tagged: true, tagPrefix: undefined, since: "1h", until: undefined })
      const error = yield* callFails(contreeListImages, { limit: 0 })
      assert.strictEqual(error.reason, "InvalidInput")
      assert.include(error.message, "limit")
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("reports an API failure as Upstream with the API's message", () =>
    Effect.gen(function*() {
      const error = yield* callFails(contreeListImages, {})
      assert.strictEqual(error.reason, "Upstream")
      assert.include(error.message, "exploded")
      assert.include(error.message, "500")
    }).pipe(Effect.provide(toolServices({
      client: Layer.mock(ContreeClient, { listImages: () => Effect.fail(apiError("Server", "exploded", 500)) })
    }))))
})

describe("contree_get_image", () => {
  it.effect("gets an image by UUID or by tag", () => {
    const asked: Array<string> = []
    const client = Layer.mock(ContreeClient, {
      getImage: (uuid) => Effect.sync(() => (asked.push(uuid), image(uuid, "python:3.11"))),
      resolveTag: (tag) => Effect.succeed(image(CHILD, tag))
    })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* call(contreeGetImage, { image: IMAGE.toUpperCase() }), {
        uuid: IMAGE,
        tag: "python:3.11",
        created_at: "2024-01-01T00:00:00Z"
      })
      yield* call(contreeGetImage, { image: "tag:python:3.11" })
      assert.deepStrictEqual(asked, [IMAGE, CHILD])
    }).pipe(Effect.provide(toolServices({ client })))
  })

  it.effect("a missing image is NotFound", () =>
    Effect.gen(function*() {
      const error = yield* callFails(contreeGetImage, { image: IMAGE })
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "image not found")
    }).pipe(Effect.provide(toolServices({
      client: Layer.mock(ContreeClient, { getImage: () => Effect.fail(apiError("NotFound", "image not found", 404)) })
    }))))
})

describe("contree_set_tag", () => {
  const harness = () => {
    const calls: Array<string> = []
    const client = Layer.mock(ContreeClient, {
      tagImage: (uuid, tag) => Effect.sync(() => (calls.push(`tag ${uuid} ${tag}`), image(uuid, tag))),
      untagImage: (uuid) => Effect.sync(() => void calls.push(`untag ${uuid}`)),
      getImage: (uuid) => Effect.sync(() => (calls.push(`get ${uuid}`), image(uuid)))
    })
    return { calls, layer: toolServices({ client }) }
  }

  it.effect("sets a valid tag", () => {
    const h = harness()
    return Effect.gen(function*() {
      for (const tag of ["common/python-ml/python:3.11-slim", "alpine", "a.b_c-d:1.0"]) {
        const out = yield* call(contreeSetTag, { image_uuid: IMAGE, tag })
        assert.strictEqual(out["tag"], tag)
      }
      assert.deepStrictEqual(h.calls, [
        `tag ${IMAGE} common/python-ml/python:3.11-slim`,
        `tag ${IMAGE} alpine`,
        `tag ${IMAGE} a.b_c-d:1.0`
      ])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("refuses invalid tags before any request", () => {
    const h = harness()
    return Effect.gen(function*() {
      for (const tag of ["has space", "ends:", "ends/", "ends.", "a//b", "a:b:c", "ü", "/lead"]) {
        const error = yield* callFails(contreeSetTag, { image_uuid: IMAGE, tag })
        assert.strictEqual(error.reason, "InvalidInput", tag)
        assert.include(error.message, "tag", tag)
      }
      assert.deepStrictEqual(h.calls, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("removes the tag when it is empty or omitted, then returns the refetched image", () => {
    const h = harness()
    return Effect.gen(function*() {
      const out = yield* call(contreeSetTag, { image_uuid: IMAGE, tag: "" })
      assert.isNull(out["tag"])
      yield* call(contreeSetTag, { image_uuid: IMAGE })
      yield* call(contreeSetTag, { image_uuid: IMAGE, tag: null })
      assert.deepStrictEqual(h.calls, [`untag ${IMAGE}`, `get ${IMAGE}`, `untag ${IMAGE}`, `get ${IMAGE}`, `untag ${IMAGE}`, `get ${IMAGE}`])
    }).pipe(Effect.provide(h.layer))
  })
})

describe("contree_read_file", () => {
  const harness = (bytes: Uint8Array) => {
    const reads: Array<string> = []
    const client = Layer.mock(ContreeClient, { readFile: (uuid, path) => Effect.sync(() => (reads.push(`${uuid}:${path}`), bytes)) })
    return { reads, layer: toolServices({ client }) }
  }

  it.effect("returns UTF-8 text as text", () => {
    const h = harness(Buffer.from("root:x:0:0:root:/root:/bin/sh\nünï\n"))
    return Effect.gen(function*() {
      const out = yield* call(contreeReadFile, { image: IMAGE, path: "/etc/passwd" })
      assert.deepStrictEqual(out, {
        path: "/etc/passwd",
        content: "root:x:0:0:root:/root:/bin/sh\nünï\n",
        encoding: "utf-8",
        bytes_size: Buffer.byteLength("root:x:0:0:root:/root:/bin/sh\nünï\n")
      })
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("returns other bytes as base64", () => {
    const bytes = Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 0xff, 0x00])
    const h = harness(bytes)
    return Effect.gen(function*() {
      const out = yield* call(contreeReadFile, { image: IMAGE, path: "/bin/x" })
      assert.deepStrictEqual(out, { path: "/bin/x", content: Buffer.from(bytes).toString("base64"), encoding: "base64", bytes_size: 6 })
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("normalises the path and caches the content: a second read makes no request", () => {
    const h = harness(Buffer.from("hello"))
    return Effect.gen(function*() {
      yield* call(contreeReadFile, { image: IMAGE, path: "etc/../etc/hostname" })
      const again = yield* call(contreeReadFile, { image: IMAGE, path: "/etc/hostname" })
      assert.strictEqual(again["content"], "hello")
      assert.deepStrictEqual(h.reads, [`${IMAGE}:/etc/hostname`])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("returns a file of exactly READ_LIMIT bytes, and refuses one byte more, pointing at contree_download", () => {
    const atLimit = harness(new Uint8Array(READ_LIMIT).fill(0x61))
    const over = harness(new Uint8Array(READ_LIMIT + 1).fill(0x61))
    return Effect.gen(function*() {
      const out = yield* call(contreeReadFile, { image: IMAGE, path: "/big" }).pipe(Effect.provide(atLimit.layer))
      assert.strictEqual(out["bytes_size"], READ_LIMIT)
      const error = yield* callFails(contreeReadFile, { image: IMAGE, path: "/bigger" }).pipe(Effect.provide(over.layer))
      assert.strictEqual(error.reason, "InvalidInput")
      assert.match(error.message, /'\/bigger' is larger than 1024 KiB.*contree_download/)
    })
  })

  it.effect("a missing file is NotFound", () =>
    Effect.gen(function*() {
      const error = yield* callFails(contreeReadFile, { image: IMAGE, path: "/nope" })
      assert.strictEqual(error.reason, "NotFound")
    }).pipe(Effect.provide(toolServices({
      client: Layer.mock(ContreeClient, { readFile: () => Effect.fail(apiError("NotFound", "file not found", 404)) })
    }))))
})

describe("contree_list_files", () => {
  const listing = new DirectoryListing({
    path: "/usr",
    files: [
      new FileItem({ path: "bin", size: 4096, mode: 0o40755, mtime: 0, is_dir: true, is_regular: false, is_symlink: false, is_socket: false, is_fifo: false, symlink_to: "" }),
      new FileItem({ path: "lib/libc.so", size: 1234, mode: 0o100644, mtime: 0, is_dir: false, is_regular: true, is_symlink: false, is_socket: false, is_fifo: false, symlink_to: "" }),
      new FileItem({ path: "sbin", size: 3, mode: 0o120777, mtime: 0, is_dir: false, is_regular: false, is_symlink: true, is_socket: false, is_fifo: false, symlink_to: "bin" })
    ]
  })
  const harness = () => {
    const lists: Array<string> = []
    const client = Layer.mock(ContreeClient, { listDirectory: (uuid, path) => Effect.sync(() => (lists.push(`${uuid}:${path}`), listing)) })
    return { lists, layer: toolServices({ client }) }
  }

  it.effect("maps entries to name, type, size, octal mode and symlink target", () => {
    const h = harness()
    return Effect.gen(function*() {
      const out = yield* call(contreeListFiles, { image: IMAGE, path: "/usr/" })
      assert.deepStrictEqual(out, {
        path: "/usr",
        count: 3,
        files: [
          { name: "bin", path: "bin", type: "directory", size: 4096, mode: "0o40755", target: null },
          { name: "libc.so", path: "lib/libc.so", type: "file", size: 1234, mode: "0o100644", target: null },
          { name: "sbin", path: "sbin", type: "symlink", size: 3, mode: "0o120777", target: "bin" }
        ]
      })
      assert.deepStrictEqual(h.lists, [`${IMAGE}:/usr`])
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("lists / by default and caches listings per image and path", () => {
    const h = harness()
    return Effect.gen(function*() {
      yield* call(contreeListFiles, { image: IMAGE })
      yield* call(contreeListFiles, { image: IMAGE, path: "/" })
      yield* call(contreeListFiles, { image: IMAGE, path: "/usr" })
      yield* call(contreeListFiles, { image: IMAGE, path: "usr/" })
      yield* call(contreeListFiles, { image: CHILD, path: "/usr" })
      assert.deepStrictEqual(h.lists, [`${IMAGE}:/`, `${IMAGE}:/usr`, `${CHILD}:/usr`])
    }).pipe(Effect.provide(h.layer))
  })
})
