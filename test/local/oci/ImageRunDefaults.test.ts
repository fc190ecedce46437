// An imported image's User and Entrypoint/Cmd as run defaults, on the engine with real sandboxes.
import { afterAll, assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { imageConfig, ociLayout, tarBytes, tarOfFiles } from "../../support/ociImages.js"
import { describeSandbox, exitCode, request, run, stderr, stdout, withLocal } from "../support.js"

const work = mkdtempSync(join(tmpdir(), "contree-run-defaults-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

// Ids beyond 0 exist in a sandbox only when the server runs as root (see IdMapping).
const asRoot = process.getuid?.() === 0

/** A root with the host's static busybox, a sticky /tmp and accounts of its own. */
const rootLayer = async () =>
  gzipSync(await tarBytes([
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", content: readFileSync("/bin/busybox"), mode: 0o755 },
    ...["sh", "id", "echo", "cat", "grep", "ls", "sleep"].map((name) => ({ name: `bin/${name}`, type: "symlink" as const, linkname: "busybox" })),
    { name: "tmp/", type: "directory", mode: 0o1777 },
    { name: "etc/", type: "directory" },
    { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002:App:/home/app:/bin/sh\n" },
    { name: "etc/group", content: "root:x:0:\napp:x:1002:\nstaff:x:50:app\n" }
  ]))

/** Imports a one-layer image with `config` over the root layer; its uuid. */
const importWith = (name: string, config: Record<string, unknown>) =>
  Effect.gen(function*() {
    const layout = ociLayout({ layers: [yield* Effect.promise(rootLayer)], config: imageConfig({ Env: ["PATH=/bin"], WorkingDir: "/", ...config }) }, "v1")
    const path = join(work, `${name}.tar`)
    writeFileSync(path, yield* Effect.promise(() => tarOfFiles(layout.files)))
    const client = yield* ContreeClient
    const op = yield* (yield* LocalEngine).awaitOperation(yield* client.importImage({ registry: { url: `oci-archive:${path}:v1` }, timeout: 300 }))
    assert.strictEqual(op.status, "SUCCESS", op.error ?? "")
    return op.resultImage!
  })

const ids = "id -u; id -g; id -G; echo $HOME; grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status"
const noCaps = "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"

describeSandbox("an imported image's run defaults", () => {
  it.live.skipIf(!asRoot)("runs as the config's User, ids or a name from the image's /etc/passwd, without capabilities", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const numeric = yield* importWith("numeric", { User: "1000:1000" })
        const byId = yield* run(request(numeric, ids, { cwd: undefined }))
        assert.strictEqual(stderr(byId), "")
        assert.strictEqual(stdout(byId), `1000\n1000\n1000\n/\n${noCaps}`)
        const named = yield* importWith("named", { User: "app" })
        const byName = yield* run(request(named, ids, { cwd: undefined }))
        assert.strictEqual(stdout(byName), `1001\n1002\n1002 50\n/home/app\n${noCaps}`)
        // The time limit still ends the user's command.
        const slow = yield* run(request(numeric, "echo started; sleep 30", { cwd: undefined, timeout: 1 }))
        assert.strictEqual(slow.instance?.result?.state.timed_out, true)
        assert.strictEqual(stdout(slow), "started\n")
        // The request's env still wins over what the user gives.
        const home = yield* run(request(named, "echo $HOME", { env: { HOME: "/elsewhere" } }))
        assert.strictEqual(stdout(home), "/elsewhere\n")
      })))

  it.live.skipIf(!asRoot)("keeps the uid switch out of a kept run's changes, which are the user's", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* importWith("kept", { User: "1000:1000" })
        const kept = yield* run(request(image, "echo made > /tmp/made; ls -a /dev/.contree", { disposable: false, cwd: undefined }))
        assert.strictEqual(exitCode(kept), 0, stderr(kept))
        assert.strictEqual(stdout(kept), ".\n..\nnsenter\n")
        const child = kept.resultImage!
        assert.notStrictEqual(child, image)
        const client = yield* ContreeClient
        // The image had no /dev: the mount point bwrap made, and the helper in it, are not in the layer.
        const top = (yield* client.listDirectory(child, "/")).files.map((file) => file.path)
        assert.deepStrictEqual(top, ["bin", "etc", "tmp"])
        assert.strictEqual((yield* Effect.flip(client.listDirectory(child, "/dev"))).message, "Directory not found")
        // The committed image keeps the User, and the file is the user's.
        const again = yield* run(request(child, "cat /tmp/made; id -u; ls -n /tmp/made | { read -r mode links uid gid rest; echo $uid:$gid; }"))
        assert.strictEqual(stdout(again), "made\n1000\n1000:1000\n")
      })))

  it.live("an empty command runs the image's Entrypoint and Cmd as argv, or the request's args in place of Cmd", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* importWith("cmd", { Entrypoint: ["/bin/echo", "entry"], Cmd: ["from cmd", "$NOT_EXPANDED"] })
        const bare = yield* run(request(image, "", { shell: false }))
        assert.strictEqual(stdout(bare), "entry from cmd $NOT_EXPANDED\n")
        assert.strictEqual(bare.instance?.command, "")
        const withArgs = yield* run(request(image, "", { shell: false, args: ["given"] }))
        assert.strictEqual(stdout(withArgs), "entry given\n")
        const cmdOnly = yield* importWith("cmd-only", { Cmd: ["/bin/echo", "only cmd"] })
        assert.strictEqual(stdout(yield* run(request(cmdOnly, "", { shell: false }))), "only cmd\n")
        // A command given replaces both.
        assert.strictEqual(stdout(yield* run(request(cmdOnly, "echo given", { shell: true }))), "given\n")
        const neither = yield* importWith("neither", { Cmd: null })
        const refused = yield* Effect.flip(Effect.flatMap(ContreeClient, (client) => client.spawnInstance(request(neither, "", { shell: false }))))
        assert.include(refused.message, "command is required")
      })))
})
