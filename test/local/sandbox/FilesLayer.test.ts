import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { existsSync, lstatSync, readdirSync } from "node:fs"
import { join } from "node:path"
import type { InstanceFileSpec } from "../../../src/domain/Instance.js"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { busybox, describeSandbox, exitCode, request, run, stderr, stdout, withLocal } from "../support.js"

const text = (value: string) => new TextEncoder().encode(value)
const layerCount = (stateDir: string) => readdirSync(join(stateDir, "sandbox", "layers")).length

/** Reads the engine's database beside it, as another process would. */
const engineDb = <A>(stateDir: string, query: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, query).pipe(Effect.provide(SqliteClient.layer({ filename: join(stateDir, "engine.db") })), Effect.orDie)

/** The layers an image stacks, lowest first, as the engine records them. */
const layersOf = (stateDir: string, image: string) =>
  engineDb(stateDir, (sql) =>
    Effect.map(sql<{ layers: string }>`SELECT layers FROM images WHERE uuid = ${image}`, ([row]) => JSON.parse(row!.layers) as Array<string>))

/** Uploads each text and gives the spawn request's `files` for them (mode 0644, root's). */
const upload = (files: Record<string, string>) =>
  Effect.gen(function*() {
    const client = yield* ContreeClient
    const specs: Record<string, InstanceFileSpec> = {}
    for (const [path, content] of Object.entries(files)) {
      specs[path] = { uuid: (yield* client.uploadFile({ _tag: "Bytes", bytes: text(content) })).uuid, mode: "0644", uid: 0, gid: 0 }
    }
    return specs
  })

/** Runs `command` and fails the test unless it exits 0; the operation otherwise. */
const succeed = (image: string, command: string, extra: Parameters<typeof request>[2] = {}) =>
  Effect.gen(function*() {
    const op = yield* run(request(image, command, extra))
    assert.strictEqual(exitCode(op), 0, stderr(op))
    return op
  })

describeSandbox("a run's files layer", () => {
  it.live("resolves symlinks on the way inside the image, and keeps the image's directories as they are", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const base = yield* busybox
        const made = yield* succeed(base, "mkdir -p /srv/app && chown 5:6 /srv/app && chmod 750 /srv/app && ln -s /srv/app /app", {
          disposable: false
        })
        const image = made.resultImage!
        const files = yield* upload({ "/app/src/main.txt": "main", "/app/tool": "#!/bin/sh\n" })
        const op = yield* succeed(image, "readlink /app; cat /srv/app/src/main.txt; echo; stat -c '%a %u %g' /srv/app /srv/app/src /srv/app/tool", {
          // The owner is set before the mode: a chown would clear the setuid bit.
          files: { ...files, "/app/tool": { ...files["/app/tool"]!, mode: "4755", uid: 7, gid: 8 } }
        })
        assert.deepStrictEqual(stdout(op).split("\n").slice(0, 5), ["/srv/app", "main", "750 5 6", "755 0 0", "4755 7 8"])
      })
    ))

  it.live("refuses a file whose path is a directory of the image, or runs through a file", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const cases: Array<readonly [Record<string, string>, string]> = [
          [{ "/etc": "x" }, "/etc is a directory in the image"],
          [{ "/etc/passwd/x": "x" }, "/etc/passwd is not a directory"],
          [{ "/opt/a": "x", "/opt/a/b": "y" }, "/opt/a is both a file given and a directory of another file"],
          [{ "/opt/a/b": "y", "/opt/a": "x" }, "/opt/a is both a file given and a directory of another file"]
        ]
        for (const [files, why] of cases) {
          const op = yield* run(request(image, "true", { files: yield* upload(files) }))
          assert.strictEqual(op.status, "FAILED", why)
          assert.include(op.error, `cannot place the run's files: ${why}`)
        }
      })
    ))

  it.live("is built once: later runs, and images whose directories are the same, reuse it", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const image = yield* busybox
        const files = yield* upload({ "/app/a.txt": "a", "/app/lib/b.txt": "b" })
        const before = layerCount(stateDir)
        yield* succeed(image, "cat /app/a.txt /app/lib/b.txt", { files })
        assert.strictEqual(layerCount(stateDir), before + 1)
        const again = yield* succeed(image, "cat /app/a.txt /app/lib/b.txt", { files })
        assert.strictEqual(stdout(again), "ab")
        assert.strictEqual(layerCount(stateDir), before + 1)
        // A new image that leaves /app's directories alone: the same files layer.
        const child = (yield* succeed(image, "echo x > /root/x", { disposable: false })).resultImage!
        const afterCommit = layerCount(stateDir)
        const onChild = yield* succeed(child, "cat /app/a.txt /root/x", { files })
        assert.strictEqual(stdout(onChild), "ax\n")
        assert.strictEqual(layerCount(stateDir), afterCommit)
      })
    ))

  it.live("wins over the image at its paths, and a committed run keeps the files it was given", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const files = yield* upload({ "/etc/motd": "given\n", "/app/a.txt": "v1\n" })
        const changed = yield* succeed(image, "cat /etc/motd && echo changed > /app/a.txt", { files, disposable: false })
        assert.strictEqual(stdout(changed), "given\n")
        const committed = changed.resultImage!
        assert.strictEqual(new TextDecoder().decode(yield* client.readFile(committed, "/app/a.txt")), "changed\n")
        assert.strictEqual(new TextDecoder().decode(yield* client.readFile(committed, "/etc/motd")), "given\n")
        // The next run with the same files sees them as given again, over the command's change.
        const next = yield* succeed(committed, "cat /app/a.txt", { files })
        assert.strictEqual(stdout(next), "v1\n")
        // A run that changes nothing still saves the files it was given.
        const unchanged = yield* succeed(image, "true", { files: yield* upload({ "/opt/only.txt": "only" }), disposable: false })
        assert.notStrictEqual(unchanged.resultImage, image)
        assert.strictEqual(new TextDecoder().decode(yield* client.readFile(unchanged.resultImage!, "/opt/only.txt")), "only")
      })
    ))

  it.live("a chain of commits with the same files stacks them once", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const files = yield* upload({ "/app/a.txt": "a" })
        let image = yield* busybox
        for (let step = 0; step < 3; step++) {
          image = (yield* succeed(image, `echo ${step} > /root/step${step}`, { files, disposable: false })).resultImage!
        }
        // The busybox layer, the files once, and one layer per step.
        assert.strictEqual((yield* layersOf(stateDir, image)).length, 5)
      })
    ))

  it.live("a chain of commits, each with new files, stays within maxLayers", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        let other = yield* busybox
        for (let step = 0; step < 4; step++) {
          other = (yield* succeed(other, "true", { files: yield* upload({ [`/app/f${step}.txt`]: `${step}` }), disposable: false })).resultImage!
        }
        const all = yield* succeed(other, "cat /app/f0.txt /app/f1.txt /app/f2.txt /app/f3.txt")
        assert.strictEqual(stdout(all), "0123")
        assert.isAtMost((yield* layersOf(stateDir, other)).length, 3)
      }), { maxLayers: 3 }
    ))

  it.live("gives every file an inode of its own, even files of the same content", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const op = yield* succeed(image, "stat -c '%i' /app/a/__init__.py /app/b/__init__.py", { files: yield* upload({ "/app/a/__init__.py": "", "/app/b/__init__.py": "" }) })
        const inodes = (output: string) => output.trim().split("\n").map((line) => line.split(" ")[0])
        const [a, b] = inodes(stdout(op))
        assert.notStrictEqual(a, b)
        // Across layers too: files given over an image that holds files given before.
        const committed = (yield* succeed(image, "true", { files: yield* upload({ "/app/x": "same" }), disposable: false })).resultImage!
        const later = yield* succeed(committed, "stat -c '%i' /app/x /app/y", { files: yield* upload({ "/app/y": "same" }) })
        const [x, y] = inodes(stdout(later))
        assert.notStrictEqual(x, y)
      })
    ))

  it.live("goes once it has been unused for longer than any run lasts, unless an image holds it", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const image = yield* busybox
        /** The files layers so far, split by whether image `held` holds them; each then marked as unused since 1970. */
        const filesLayers = (held: string) =>
          Effect.gen(function*() {
            const stack = yield* layersOf(stateDir, held)
            return yield* engineDb(stateDir, (sql) =>
              Effect.gen(function*() {
                const layers = (yield* sql<{ layer: string }>`SELECT layer FROM files_layers`).map((row) => row.layer)
                yield* sql`UPDATE files_layers SET used_at = 0`
                return [layers.filter((id) => stack.includes(id)), layers.filter((id) => !stack.includes(id))] as const
              }))
          })
        const kept = yield* succeed(image, "true", { files: yield* upload({ "/app/kept.txt": "kept" }), disposable: false })
        yield* succeed(image, "true", { files: yield* upload({ "/app/old.txt": "old" }) })
        const [[heldByImage], [unused]] = yield* filesLayers(kept.resultImage!)
        // A new layer is built: the unused one goes, the one the committed image holds stays.
        yield* succeed(image, "true", { files: yield* upload({ "/app/new.txt": "new" }) })
        assert.isTrue(existsSync(join(stateDir, "sandbox", "layers", heldByImage!)))
        assert.isFalse(existsSync(join(stateDir, "sandbox", "layers", unused!)))
        // Its files' names in links/ went with it; those of the layers that stay are kept.
        const names = readdirSync(join(stateDir, "links"), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile())
        assert.isTrue(names.every((entry) => lstatSync(join(entry.parentPath, entry.name)).nlink > 1))
        assert.strictEqual(names.length, 2)
        const again = yield* succeed(image, "cat /app/old.txt", { files: yield* upload({ "/app/old.txt": "old" }) })
        assert.strictEqual(stdout(again), "old")
        assert.strictEqual(new TextDecoder().decode(yield* (yield* ContreeClient).readFile(kept.resultImage!, "/app/kept.txt")), "kept")
      })
    ))

  it.live("creates a missing working directory, and the sandbox cannot change what later runs are given", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const files = yield* upload({ "/app/a.txt": "kept" })
        const first = yield* succeed(image, "pwd; echo gone > /app/a.txt; rm -f /app/a.txt; chmod 777 /app", { files, cwd: "/work/dir" })
        assert.strictEqual(stdout(first), "/work/dir\n")
        const second = yield* succeed(image, "cat /app/a.txt; stat -c ' %a' /app", { files })
        assert.strictEqual(stdout(second), "kept 755\n")
      })
    ))
})
