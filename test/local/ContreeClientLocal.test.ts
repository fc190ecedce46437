import { assert, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import type { ContreeApiError } from "../../src/services/ContreeError.js"
import { busybox, describeSandbox, eventually, exitCode, request, run, stdout, withLocal } from "./support.js"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describeSandbox("ContreeClientLocal", () => {
  it.live("starts with the offline busybox image, tagged busybox:latest", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const images = yield* client.listImages({ limit: 100, offset: 0 })
        assert.strictEqual(images.length, 1)
        assert.strictEqual(images[0]!.tag, "busybox:latest")
        const listing = yield* client.listDirectory(images[0]!.uuid, "/bin")
        const sh = listing.files.find((f) => f.path === "sh")!
        assert.isTrue(sh.is_symlink)
        assert.strictEqual(sh.symlink_to, "/bin/busybox")
        assert.strictEqual(sh.owner, 0)
        const busyboxItem = listing.files.find((f) => f.path === "busybox")!
        assert.strictEqual(busyboxItem.mode, 0o100755)
        assert.isTrue(busyboxItem.is_regular)
        assert.match(text(yield* client.readFile(images[0]!.uuid, "/etc/os-release")), /ID=busybox/)
      })
    ))

  it.live("runs a disposable command and leaves no image", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const op = yield* run(request(image, "echo hello; echo oops >&2; exit 3", { disposable: true }))
        assert.strictEqual(op.status, "SUCCESS")
        assert.strictEqual(stdout(op), "hello\n")
        assert.strictEqual(exitCode(op), 3)
        assert.isNull(op.resultImage)
        assert.strictEqual((yield* client.listImages({ limit: 100, offset: 0 })).length, 1)
      })
    ))

  it.live("commits a run as a child image; a run that changes nothing gives the input back", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const op = yield* run(request(image, "echo saved > /root/note", { disposable: false }))
        const child = op.resultImage!
        assert.notStrictEqual(child, image)
        assert.strictEqual(text(yield* client.readFile(child, "/root/note")), "saved\n")
        assert.isFalse(yield* client.fileExists(image, "/root/note"))
        const unchanged = yield* run(request(child, "cat /root/note", { disposable: false }))
        assert.strictEqual(unchanged.resultImage, child)
        assert.strictEqual(stdout(unchanged), "saved\n")
      })
    ))

  it.live("reads a three-deep chain with deletions, additions and an opaque directory", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const base = yield* busybox
        const step = (image: string, command: string) =>
          run(request(image, command, { disposable: false })).pipe(Effect.map((op) => {
            assert.strictEqual(exitCode(op), 0, command)
            return op.resultImage!
          }))
        const one = yield* step(base, "mkdir /data && echo 1 > /data/a && echo keep > /data/b && rm /etc/hosts")
        const two = yield* step(one, "rm /data/a && echo 2 > /data/c && rm -rf /etc && mkdir /etc && echo new > /etc/only")
        const three = yield* step(two, "echo 3 > /data/a && rm /data/b && mkdir /etc/sub && ln -s /data/c /data/link")

        const names = (image: string, path: string) =>
          client.listDirectory(image, path).pipe(Effect.map((listing) => listing.files.map((f) => f.path)))
        assert.deepStrictEqual(yield* names(three, "/data"), ["a", "c", "link"])
        assert.deepStrictEqual(yield* names(three, "/etc"), ["only", "sub"])
        assert.strictEqual(text(yield* client.readFile(three, "/data/a")), "3\n")
        assert.strictEqual(text(yield* client.readFile(three, "/data/link")), "2\n")
        assert.strictEqual(text(yield* client.readFile(three, "data/c")), "2\n")
        const missing = yield* Effect.flip(client.readFile(three, "/etc/passwd"))
        assert.strictEqual(missing.reason, "NotFound")

        // Every image stays as it was committed.
        assert.deepStrictEqual(yield* names(two, "/data"), ["b", "c"])
        assert.deepStrictEqual(yield* names(two, "/etc"), ["only"])
        assert.deepStrictEqual(yield* names(one, "/data"), ["a", "b"])
        assert.strictEqual(text(yield* client.readFile(one, "/data/a")), "1\n")
        assert.isTrue(yield* client.fileExists(one, "/etc/passwd"))
        assert.isFalse(yield* client.fileExists(one, "/etc/hosts"))
        assert.isTrue(yield* client.fileExists(base, "/etc/hosts"))

        // The sandbox sees what the inspection sees, and the files every run gets (/etc/hostname, /etc/hosts).
        const seen = yield* run(request(three, "ls /data /etc; cat /data/a"))
        assert.strictEqual(stdout(seen), "/data:\na\nc\nlink\n\n/etc:\nhostname\nhosts\nonly\nsub\n3\n")

        const ls = yield* client.listDirectoryText(three, "/data")
        assert.match(ls, /^total /)
        assert.match(ls, /\nlrwxrwxrwx 1 0 0 .* link -> \/data\/c\n/)
        assert.match(ls, /\n-rw-r--r-- 1 0 0 +2\.00 {2}B .* a\n/)
        const streamed = yield* Stream.runCollect(client.downloadFile(three, "/data/c"))
        assert.strictEqual(text(Buffer.concat([...streamed])), "2\n")
      })
    ))

  it.live("without a disk cap the upper dir lives on disk and commits the same way", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const op = yield* run(request(image, "rm /etc/hosts && rm -rf /usr && mkdir /usr && echo x > /usr/only", { disposable: false }))
        assert.strictEqual(exitCode(op), 0)
        const names = (path: string) => client.listDirectory(op.resultImage!, path).pipe(Effect.map((l) => l.files.map((f) => f.path)))
        assert.deepStrictEqual(yield* names("/usr"), ["only"])
        assert.notInclude(yield* names("/etc"), "hosts")
        // The result comes as soon as it is recorded; the run's directory goes right after.
        yield* eventually(() => readdirSync(join(stateDir, "sandbox", "runs")).length === 0)
      }), { diskBytes: null }))

  it.live("answers with the cloud's error reasons, in the engine's words and naming no HTTP request", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const unknown = "00000000-0000-4000-8000-000000000000"
        const reason = <A, R>(effect: Effect.Effect<A, ContreeApiError, R>) =>
          Effect.flip(effect).pipe(Effect.map((e) => [e.reason, e.status, e.method, e.path].filter((v) => v !== undefined).join(" ")))
        assert.strictEqual(yield* reason(client.getImage(unknown)), "NotFound")
        assert.strictEqual(yield* reason(client.resolveTag("no/such:tag")), "NotFound")
        assert.strictEqual(yield* reason(client.resolveTag("")), "InvalidRequest")
        assert.strictEqual(yield* reason(client.tagImage(image, "bad tag")), "InvalidRequest")
        assert.strictEqual(yield* reason(client.tagImage(image, "ends.with:")), "InvalidRequest")
        assert.strictEqual(yield* reason(client.tagImage(unknown, "fine:1")), "NotFound")
        assert.strictEqual(yield* reason(client.untagImage(unknown)), "NotFound")
        assert.strictEqual(yield* reason(client.listDirectory(image, "/nope")), "NotFound")
        assert.strictEqual(yield* reason(client.listDirectory(image, "/etc/passwd")), "InvalidRequest")
        assert.strictEqual(yield* reason(client.readFile(image, "/etc")), "InvalidRequest")
        assert.strictEqual(yield* reason(client.readFile(image, "/nope")), "NotFound")
        assert.strictEqual(yield* reason(client.getOperation(unknown)), "NotFound")
        assert.strictEqual(yield* reason(client.cancelOperation(unknown)), "NotFound")
        assert.strictEqual(yield* reason(client.spawnInstance(request(unknown, "true"))), "NotFound")
        assert.strictEqual(yield* reason(client.spawnInstance(request("tag:missing", "true"))), "NotFound")
        assert.strictEqual(yield* reason(client.spawnInstance(request(image, "true", { cwd: "relative" }))), "InvalidRequest")
        assert.strictEqual(yield* reason(client.spawnInstance(request(image, "x", { shell: true, args: ["a"] }))), "InvalidRequest")
        const nul = yield* Effect.flip(client.spawnInstance(request(image, "x", { shell: false, args: ["a\0b"] })))
        assert.strictEqual(yield* reason(Effect.fail(nul)), "InvalidRequest")
        assert.match(nul.message, /args\[0\] must not contain a NUL character/)
        assert.strictEqual(yield* reason(client.listImages({ limit: 0, offset: 0 })), "InvalidRequest")
        assert.strictEqual(yield* reason(client.listOperations({ limit: 10, offset: 0, since: "yesterday" })), "InvalidRequest")
        assert.strictEqual(yield* reason(client.importImage({ registry: { url: "oci-archive:relative.tar" }, timeout: 300 })), "InvalidRequest")
        assert.strictEqual(yield* reason(client.importImage({ registry: { url: "oci-archive:/no/such.tar" }, timeout: 300 })), "NotFound")
        assert.strictEqual(yield* reason(client.importImage({ registry: { url: "docker://UPPER/x" }, timeout: 300 })), "InvalidRequest")
        assert.strictEqual(
          yield* reason(client.importImage({ registry: { url: "docker://alpine:latest" }, tag: "ends.with:", timeout: 300 })),
          "InvalidRequest"
        )
        const done = yield* run(request(image, "true"))
        assert.isFalse(yield* client.cancelOperation(done.uuid))
        assert.isFalse(yield* client.fileExists(unknown, "/etc/passwd"))
      })
    ))

  it.live("tags move between images and filter image lists", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const base = yield* busybox
        const a = (yield* run(request(base, "touch /a", { disposable: false }))).resultImage!
        const b = (yield* run(request(base, "touch /b", { disposable: false }))).resultImage!
        assert.strictEqual((yield* client.tagImage(a, "team/app:v1")).tag, "team/app:v1")
        assert.strictEqual((yield* client.resolveTag("team/app:v1")).uuid, a)
        yield* client.tagImage(b, "team/app:v1")
        assert.strictEqual((yield* client.resolveTag("team/app:v1")).uuid, b)
        assert.isNull((yield* client.getImage(a)).tag)
        yield* client.tagImage(a, "team/web:v2")

        const list = (query: Partial<Parameters<typeof client.listImages>[0]>) =>
          client.listImages({ limit: 100, offset: 0, ...query }).pipe(Effect.map((images) => images.map((i) => i.uuid)))
        assert.deepStrictEqual(yield* list({}), [b, a, base])
        assert.deepStrictEqual(yield* list({ tagPrefix: "team/" }), [b, a])
        assert.deepStrictEqual(yield* list({ tagPrefix: "team/app" }), [b])
        assert.deepStrictEqual(yield* list({ tagged: false }), [])
        assert.deepStrictEqual(yield* list({ limit: 1, offset: 1 }), [a])
        assert.deepStrictEqual(yield* list({ since: "1h" }), [b, a, base])
        assert.deepStrictEqual(yield* list({ until: "2000-01-01T00:00:00Z" }), [])
        yield* client.untagImage(b)
        assert.deepStrictEqual(yield* list({ tagged: false }), [b])
        assert.strictEqual((yield* Effect.flip(client.resolveTag("team/app:v1"))).reason, "NotFound")
      })
    ))

  it.live("deduplicates uploads by content and lists operations with filters", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const first = yield* client.uploadFile({ _tag: "Bytes", bytes: new TextEncoder().encode("same bytes") })
        const second = yield* client.uploadFile({ _tag: "Bytes", bytes: new TextEncoder().encode("same bytes") })
        assert.strictEqual(second.uuid, first.uuid)
        assert.strictEqual(first.sha256, createHash("sha256").update("same bytes").digest("hex"))
        assert.strictEqual(first.size, 10)
        assert.isTrue(Option.isSome(yield* client.findFileByHash(first.sha256)))
        assert.isTrue(yield* client.fileHashExists(first.sha256))
        assert.isTrue(yield* client.fileUuidExists(first.uuid))
        assert.isFalse(yield* client.fileHashExists("0".repeat(64)))

        const image = yield* busybox
        const ok = yield* run(request(image, "true"))
        const failed = yield* run(request(image, "true", { files: { "/x": { uuid: "no-such-file", mode: "0644", uid: 0, gid: 0 } } }))
        assert.strictEqual(failed.status, "FAILED")
        assert.strictEqual(failed.error, "File not found: no-such-file")
        const ops = yield* client.listOperations({ limit: 10, offset: 0 })
        assert.deepStrictEqual(ops.map((o) => o.uuid), [failed.uuid, ok.uuid])
        assert.deepStrictEqual((yield* client.listOperations({ limit: 10, offset: 0, status: "FAILED" })).map((o) => o.uuid), [failed.uuid])
        assert.deepStrictEqual(yield* client.listOperations({ limit: 10, offset: 0, kind: "image_import" }), [])
        assert.strictEqual(ops[1]!.image_uuid, image)
      })
    ))
})
