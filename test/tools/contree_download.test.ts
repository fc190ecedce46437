import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import tar from "tar-stream"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { contreeDownload } from "../../src/tools/contree_download.js"
import { IMAGE } from "../support/fixtures.js"
import { apiError, call, callFails, toolServices } from "../support/tools.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-download-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Where an escaping entry would land: a directory of the test's own, empty. */
const OUTSIDE = mkdtempSync(join(tmpdir(), "contree-download-outside-"))

const chunks = (...parts: ReadonlyArray<string>) => Stream.fromIterable(parts.map((p) => new Uint8Array(Buffer.from(p))))

type Bytes = Stream.Stream<Uint8Array, ReturnType<typeof apiError>>

/** A client whose image holds a file (served by `stream`), or, with `archive`, only a directory. */
const harness = (stream: Bytes, archive?: Bytes) => {
  const downloads: Array<string> = []
  const client = Layer.mock(ContreeClient, {
    fileExists: () => Effect.succeed(archive === undefined),
    downloadFile: (uuid, path) => Stream.suspend(() => (downloads.push(`${uuid}:${path}`), stream)),
    downloadArchive: (uuid, path) => Stream.suspend(() => (downloads.push(`archive ${uuid}:${path}`), archive ?? Stream.die("no archive")))
  })
  return { downloads, layer: toolServices({ client }) }
}

/** A tar of `entries`, as a server would stream it. */
const tarOf = (entries: ReadonlyArray<{ readonly header: Partial<tar.Header> & Pick<tar.Header, "name">; readonly body?: string }>): Bytes =>
  Stream.fromEffect(Effect.promise(async () => {
    const pack = tar.pack()
    for (const { body, header } of entries) body === undefined ? pack.entry(header) : pack.entry(header, body)
    pack.finalize()
    const parts: Array<Uint8Array> = []
    for await (const part of pack) parts.push(part as Uint8Array)
    return new Uint8Array(Buffer.concat(parts))
  }))

describe("contree_download", () => {
  it.effect("rejects a relative destination before any request", () => {
    const h = harness(chunks("x"))
    return Effect.gen(function*() {
      for (const destination of ["out.bin", "./out.bin", "../out.bin"]) {
        const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/bin/ls", destination })
        assert.strictEqual(error.reason, "InvalidInput")
        assert.include(error.message, "absolute path")
      }
      assert.deepStrictEqual(h.downloads, [])
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("writes the whole file, creating missing directories, and leaves no temporary file", () => {
    const h = harness(chunks("hello ", "", "world\n"))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "a", "b", "out.txt")
      const out = yield* call(contreeDownload, { image: IMAGE, path: "etc/../etc/motd", destination })
      assert.deepStrictEqual(out, {
        success: true,
        source: { image: IMAGE, path: "/etc/motd" },
        destination,
        kind: "file",
        size: 12,
        executable: false
      })
      assert.strictEqual(readFileSync(destination, "utf8"), "hello world\n")
      assert.deepStrictEqual(readdirSync(join(dir, "a", "b")), ["out.txt"])
      assert.deepStrictEqual(h.downloads, [`${IMAGE}:/etc/motd`])
      assert.strictEqual(statSync(destination).mode & 0o111, 0)
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("overwrites an existing file and sets the execute bit when asked", () => {
    const h = harness(chunks("#!/bin/sh\n"))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "tool")
      writeFileSync(destination, "old content that is longer")
      const out = yield* call(contreeDownload, { image: IMAGE, path: "/usr/bin/tool", destination, executable: true })
      assert.isTrue(out["executable"])
      assert.strictEqual(readFileSync(destination, "utf8"), "#!/bin/sh\n")
      assert.notStrictEqual(statSync(destination).mode & 0o100, 0)
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("keeps an existing destination and leaves no temporary file when the stream fails midway", () => {
    const h = harness(chunks("partial ", "data").pipe(Stream.concat(Stream.fail(apiError("Transport", "download interrupted")))))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "keep.txt")
      writeFileSync(destination, "original")
      const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/big", destination })
      assert.include(error.message, "download interrupted")
      assert.strictEqual(readFileSync(destination, "utf8"), "original")
      assert.deepStrictEqual(readdirSync(dir), ["keep.txt"])
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("creates nothing when the file does not exist in the image", () => {
    const h = harness(Stream.die("not a file"), Stream.fail(apiError("NotFound", "no such file", 404)))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "missing.txt")
      const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/nope", destination })
      assert.strictEqual(error.reason, "NotFound")
      assert.isFalse(existsSync(destination))
      assert.deepStrictEqual(readdirSync(dir), [])
    }).pipe(Effect.provide(h.layer))
  })

  it.scoped("copies a directory into a new path, whole: modes and links kept, device nodes left out", () => {
    const h = harness(Stream.die("not a file"), tarOf([
      { header: { name: "app", type: "directory", mode: 0o755 } },
      { header: { name: "app/run.sh", type: "file", mode: 0o755 }, body: "#!/bin/sh\n" },
      { header: { name: "app/suid", type: "file", mode: 0o4755 }, body: "x" },
      { header: { name: "app/data", type: "directory", mode: 0o700 } },
      { header: { name: "app/data/x", type: "file", mode: 0o600 }, body: "x" },
      { header: { name: "app/latest", type: "symlink", linkname: "data/x" } },
      { header: { name: "app/null", type: "character-device", devmajor: 1, devminor: 3 } }
    ]))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const destination = join(dir, "out")
      const out = yield* call(contreeDownload, { image: IMAGE, path: "/app", destination })
      assert.strictEqual(out["kind"], "directory")
      assert.strictEqual(out["entries"], 6)
      // No setuid bit reaches the host: a copy for the host keeps permission bits only.
      assert.strictEqual(statSync(join(destination, "app", "suid")).mode & 0o7000, 0)
      assert.deepStrictEqual(h.downloads, [`archive ${IMAGE}:/app`])
      assert.strictEqual(readFileSync(join(destination, "app", "run.sh"), "utf8"), "#!/bin/sh\n")
      assert.strictEqual(statSync(join(destination, "app", "run.sh")).mode & 0o777, 0o755)
      assert.strictEqual(statSync(join(destination, "app", "data")).mode & 0o777, 0o700)
      assert.strictEqual(readlinkSync(join(destination, "app", "latest")), "data/x")
      assert.isFalse(existsSync(join(destination, "app", "null")))
      assert.deepStrictEqual(readdirSync(dir), ["out"])
    }).pipe(Effect.provide(h.layer))
  })

  for (
    const [what, entries] of [
      ["climbs out with ..", [{ header: { name: "../evil", type: "file" as const }, body: "x" }]],
      ["is absolute", [{ header: { name: "/etc/evil", type: "file" as const }, body: "x" }]],
      ["writes through a symlink", [
        { header: { name: "link", type: "symlink" as const, linkname: OUTSIDE } },
        { header: { name: "link/evil", type: "file" as const }, body: "x" }
      ]]
    ] as const
  ) {
    it.scoped(`refuses an archive whose entry ${what}, and leaves nothing behind`, () => {
      const h = harness(Stream.die("not a file"), tarOf(entries))
      return Effect.gen(function*() {
        const dir = yield* tempDir
        const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/app", destination: join(dir, "out") })
        assert.include(error.message, "refused")
        assert.deepStrictEqual(readdirSync(dir), [])
        assert.deepStrictEqual(readdirSync(OUTSIDE), [])
      }).pipe(Effect.provide(h.layer))
    })
  }

  it.scoped("downloads a directory only into a new path", () => {
    const h = harness(Stream.die("not a file"), tarOf([{ header: { name: "a", type: "file" }, body: "a" }]))
    return Effect.gen(function*() {
      const dir = yield* tempDir
      writeFileSync(join(dir, "taken"), "mine")
      const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/app", destination: join(dir, "taken") })
      assert.include(error.message, `destination ${join(dir, "taken")} exists (a regular file)`)
      assert.include(error.message, "new path")
      assert.strictEqual(readFileSync(join(dir, "taken"), "utf8"), "mine")
    }).pipe(Effect.provide(h.layer))
  })

  describe("the destination", () => {
    /** A FIFO, a socket or a directory at `path`; the socket's server is closed with the scope. */
    const specials = {
      FIFO: (path: string) => Effect.sync(() => void spawnSync("mkfifo", [path])),
      socket: (path: string) =>
        Effect.acquireRelease(
          Effect.async<ReturnType<typeof createServer>>((resume) => {
            const server = createServer()
            server.listen(path, () => resume(Effect.succeed(server)))
          }),
          (server) => Effect.sync(() => server.close())
        ),
      directory: (path: string) => Effect.sync(() => void mkdirSync(path))
    }
    const is = { FIFO: "isFIFO", socket: "isSocket", directory: "isDirectory" } as const

    for (const [kind, make] of Object.entries(specials) as Array<[keyof typeof specials, (path: string) => Effect.Effect<unknown, never, never>]>) {
      it.scoped(`is refused when it is a ${kind}, which stays one; nothing is downloaded`, () => {
        const h = harness(chunks("data"))
        return Effect.gen(function*() {
          const dir = yield* tempDir
          const destination = join(dir, "dest")
          yield* make(destination)
          const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/bin/ls", destination })
          assert.strictEqual(error.reason, "InvalidInput")
          assert.include(error.message, `destination ${destination} is a ${kind}`)
          assert.include(error.message, "only over a regular file")
          assert.isTrue(lstatSync(destination)[is[kind]]())
          assert.deepStrictEqual(readdirSync(dir), ["dest"])
          assert.deepStrictEqual(h.downloads, [])
        }).pipe(Effect.provide(h.layer))
      })
    }

    it.scoped("a FIFO is refused for a directory download too", () => {
      const h = harness(Stream.die("not a file"), tarOf([{ header: { name: "a", type: "file" }, body: "a" }]))
      return Effect.gen(function*() {
        const dir = yield* tempDir
        yield* specials.FIFO(join(dir, "fifo"))
        const error = yield* callFails(contreeDownload, { image: IMAGE, path: "/app", destination: join(dir, "fifo") })
        assert.include(error.message, `destination ${join(dir, "fifo")} exists (a FIFO)`)
        assert.isTrue(lstatSync(join(dir, "fifo")).isFIFO())
      }).pipe(Effect.provide(h.layer))
    })

    it.scoped("a symlink is replaced by the file, never followed", () => {
      const h = harness(chunks("new"))
      return Effect.gen(function*() {
        const dir = yield* tempDir
        const target = join(yield* tempDir, "target")
        writeFileSync(target, "theirs")
        symlinkSync(target, join(dir, "link"))
        yield* call(contreeDownload, { image: IMAGE, path: "/bin/ls", destination: join(dir, "link") })
        assert.isTrue(lstatSync(join(dir, "link")).isFile())
        assert.strictEqual(readFileSync(join(dir, "link"), "utf8"), "new")
        assert.strictEqual(readFileSync(target, "utf8"), "theirs")
      }).pipe(Effect.provide(h.layer))
    })

    it.scoped("a symlink is replaced by a directory, never followed", () => {
      const h = harness(Stream.die("not a file"), tarOf([{ header: { name: "a", type: "file" }, body: "a" }]))
      return Effect.gen(function*() {
        const dir = yield* tempDir
        const target = yield* tempDir
        symlinkSync(target, join(dir, "link"))
        yield* call(contreeDownload, { image: IMAGE, path: "/app", destination: join(dir, "link") })
        assert.isTrue(lstatSync(join(dir, "link")).isDirectory())
        assert.strictEqual(readFileSync(join(dir, "link", "a"), "utf8"), "a")
        assert.deepStrictEqual(readdirSync(target), [])
      }).pipe(Effect.provide(h.layer))
    })
  })
})
