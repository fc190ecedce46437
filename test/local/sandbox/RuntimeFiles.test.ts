import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { busybox, describeSandbox, exitCode, request, run, stdout, withLocal } from "../support.js"

describeSandbox("what every sandbox gets at run time", () => {
  it.live("/etc/hosts and /etc/hostname name the spawn's hostname, HOSTNAME is set, /dev/shm is a 1777 tmpfs", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const op = yield* run(request(image, "cat /etc/hostname /etc/hosts; echo $HOSTNAME; stat -c %a /dev/shm; grep ' /dev/shm ' /proc/mounts | cut -d' ' -f3", { hostname: "builder" }))
        assert.strictEqual(exitCode(op), 0)
        assert.strictEqual(
          stdout(op),
          "builder\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbuilder\nbuilder\n1777\ntmpfs\n"
        )
        const env = yield* run(request(image, "echo $HOSTNAME", { hostname: "builder", env: { HOSTNAME: "mine" } }))
        assert.strictEqual(stdout(env), "mine\n", "the request's env wins")
      }), { maxConcurrentRuns: 2 }))

  it.live("one runtime layer per hostname (and image /etc), shared by the runs that need it; the image as stored is untouched", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        for (const hostname of ["a", "a", "b", "a"]) assert.strictEqual(exitCode(yield* run(request(image, "true", { hostname }))), 0)
        assert.strictEqual(readdirSync(join(stateDir, "sandbox", "runtime")).length, 2)
        // busybox:latest ships its own /etc/hosts: the stored image still shows it.
        const stored = new TextDecoder().decode(yield* client.readFile(image, "/etc/hosts"))
        assert.strictEqual(stored, "127.0.0.1\tlocalhost\n::1\tlocalhost\n")
        const committed = yield* run(request(image, "touch /made", { disposable: false, hostname: "c" }))
        assert.strictEqual(new TextDecoder().decode(yield* client.readFile(committed.resultImage!, "/etc/hosts")), stored)
        assert.isFalse(yield* client.fileExists(committed.resultImage!, "/etc/hostname"))
      }), { maxConcurrentRuns: 2 }))
})
