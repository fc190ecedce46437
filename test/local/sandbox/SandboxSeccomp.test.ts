import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { busybox, describeSandbox, exitCode, request, run, stderr, stdout, withLocal } from "../support.js"

const PROBE_SOURCE = join(import.meta.dirname, "fixtures", "seccomp-probe.c")

/** gcc with a static libc, which the probe needs (busybox's image has no libc). */
const gccStatic = spawnSync("gcc", ["--version"]).status === 0

let buildDir: string | undefined
let probe: Uint8Array | undefined

beforeAll(() => {
  if (!gccStatic) return
  buildDir = mkdtempSync(join(tmpdir(), "contree-seccomp-probe-"))
  execFileSync("gcc", ["-static", "-O", "-o", join(buildDir, "probe"), PROBE_SOURCE], { stdio: "pipe" })
  probe = readFileSync(join(buildDir, "probe"))
})

afterAll(() => {
  if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true })
})

/** `name result` lines of the probe, by name. */
const results = (text: string): Record<string, string> =>
  Object.fromEntries(text.trim().split("\n").map((line) => line.split(" ", 2) as [string, string]))

describeSandbox("the sandbox's seccomp filter", () => {
  it.live.skipIf(!gccStatic)("refuses Docker's refused syscalls and keeps fork, clone and memfd_create (needs gcc -static)", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const uploaded = yield* client.uploadFile({ _tag: "Bytes", bytes: probe! })
        const op = yield* run(request(image, "/opt/probe", { files: { "/opt/probe": { uuid: uploaded.uuid, mode: "0755", uid: 0, gid: 0 } } }))
        assert.strictEqual(exitCode(op), 0, stderr(op))
        const found = results(stdout(op))
        // On x86_64, the i386 calls a 64-bit program makes with int 0x80 (unless the kernel has no i386 emulation).
        const compat = process.arch !== "x64" || found["compat"] === "unavailable"
          ? {}
          : { compat_keyctl: "EPERM", compat_unshare_user: "EPERM", compat_getpid: "ok" }
        delete found["compat"]
        assert.deepStrictEqual(found, {
          add_key: "EPERM",
          keyctl: "EPERM",
          io_uring_setup: "EPERM",
          userfaultfd: "EPERM",
          perf_event_open: "EPERM",
          open_tree: "EPERM",
          fsopen: "EPERM",
          mount: "EPERM",
          unshare_user: "EPERM",
          clone_newuser: "EPERM",
          clone3: "ENOSYS",
          fork: "ok",
          clone: "ok",
          memfd_create: "ok",
          socket_unix: "ok",
          socket_alg: "EPERM",
          socket_vsock: "EPERM",
          ...compat
        })
      })
    ))

  it.live("shows seccomp mode 2 (filter) in the sandbox, for the command and for pid 1, no new user namespaces, and ordinary tools work", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const op = yield* run(request(
          image,
          "grep Seccomp: /proc/self/status; grep Seccomp: /proc/1/status; " +
            "cat /proc/sys/user/max_user_namespaces; echo data | sort | wc -l; (sleep 0 & wait); mkdir -p /tmp/x && touch /tmp/x/f && ls /tmp/x; ls /proc/self/fd | wc -l"
        ))
        assert.strictEqual(exitCode(op), 0, stderr(op))
        const lines = stdout(op).trim().split("\n").map((line) => line.replace(/\s+/g, " "))
        // No descriptor of bwrap's (the filter's fd 8) reaches the command: stdin, stdout, stderr and ls's own.
        // No user namespace can be made below the sandbox's, whatever the filter lets through.
        assert.deepStrictEqual(lines, ["Seccomp: 2", "Seccomp: 2", "0", "1", "f", "4"])
      })
    ))
})
