import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encodeStream, streamBytes } from "../../../src/domain/OutputStream.js"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { busybox, describeSandbox, exitCode, marker, processesWith, request, run, stderr, stdout, withLocal } from "../support.js"

/** sha256 of every file (the target of every symlink) under `dir`, by relative path: the layers' exact content. */
const fingerprint = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel === "" ? name : `${rel}/${name}`
      const stats = lstatSync(join(dir, path))
      if (stats.isDirectory()) walk(path)
      else if (stats.isSymbolicLink()) out[path] = `-> ${readlinkSync(join(dir, path))}`
      else if (!stats.isFile()) out[path] = "special"
      else out[path] = createHash("sha256").update(readFileSync(join(dir, path))).digest("hex")
    }
  }
  walk("")
  return out
}

/** A host directory for the duration of the effect. */
const hostDirectory = <A, E, R>(prefix: string, use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    use,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describeSandbox("local sandbox", () => {
  it.live("rm -rf / harms neither the image's layer nor the host", () =>
    withLocal((stateDir) =>
      hostDirectory("contree-sentinel-", (hostDir) =>
        Effect.gen(function*() {
          const client = yield* ContreeClient
          const image = yield* busybox
          const sentinel = join(hostDir, "sentinel")
          writeFileSync(sentinel, "still here")
          const layers = join(stateDir, "sandbox", "layers")
          const before = fingerprint(layers)

          const wiped = yield* run(request(image, "rm -rf / 2>/dev/null; ls -A /", { disposable: false }))
          assert.strictEqual(wiped.status, "SUCCESS")
          // Only the sandbox's own mounts survive inside; the saved image shows what the command left.
          assert.deepStrictEqual(stdout(wiped).trim().split("\n").sort(), ["dev", "proc"])
          const left = yield* client.listDirectory(wiped.resultImage!, "/")
          assert.deepStrictEqual(left.files.map((f) => f.path).sort(), ["dev", "proc"])

          assert.strictEqual(readFileSync(sentinel, "utf8"), "still here")
          const after = fingerprint(layers)
          for (const [path, hash] of Object.entries(before)) assert.strictEqual(after[path], hash, path)
          const again = yield* run(request(image, "cat /etc/os-release"))
          assert.match(stdout(again), /ID=busybox/)
        }))
    ))

  it.live("cannot see the host's files or its own layers", () =>
    withLocal((stateDir) =>
      hostDirectory("contree-secret-", (hostDir) =>
        Effect.gen(function*() {
          const image = yield* busybox
          writeFileSync(join(hostDir, "secret"), "host secret")
          const op = yield* run(request(
            image,
            `cat ${hostDir}/secret; cat /proc/1/root${hostDir}/secret; ls ${stateDir}; ls /proc/1/root/work; ` +
              `cat /etc/shadow; grep -c . /proc/mounts; echo done`
          ))
          assert.notInclude(stdout(op), "host secret")
          assert.match(stdout(op), /done\n$/)
          const errors = stderr(op).split("\n")
          assert.isTrue(errors.some((line) => line.includes(`${hostDir}/secret`) && line.includes("No such file")), stderr(op))
          assert.isTrue(errors.some((line) => line.includes(stateDir) && line.includes("No such file")), stderr(op))
        }))
    ))

  it.live("shows nothing of the host in pid 1's (bwrap's) command line or environment", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const image = yield* busybox
        const op = yield* run(request(image, "tr '\\0' ' ' </proc/1/cmdline; echo; echo ---; tr '\\0' ' ' </proc/1/environ; echo", {
          env: { TOKEN: "passed" }
        }))
        assert.strictEqual(exitCode(op), 0, stderr(op))
        const [cmdline = "", environ = ""] = stdout(op).split("\n---\n")
        for (const shown of [cmdline, environ]) {
          assert.notInclude(shown, stateDir)
          assert.notInclude(shown, "layers")
          assert.notInclude(shown, "CONTREE")
          assert.notInclude(shown, process.cwd())
        }
        // bwrap's options (the run's environment among them) came through a descriptor; only the command is left to show.
        assert.notInclude(cmdline, "passed")
        assert.match(cmdline, / --args 9 -- \/bin\/sh -c tr /)
        assert.strictEqual(environ.trim(), "")
        // The command's own environment is the run's.
        const env = yield* run(request(image, "echo $TOKEN $HOME", { env: { TOKEN: "passed" } }))
        assert.strictEqual(stdout(env), "passed /root\n")
      })
    ))

  it.live("has loopback only: no other interface, and the host's 127.0.0.1 is out of reach", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        let connections = 0
        const server = createServer((socket) => {
          connections++
          socket.end("hello from the host\n")
        })
        yield* Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void)))
        const port = (server.address() as { port: number }).port
        const op = yield* run(request(
          image,
          `cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; nc -w 2 127.0.0.1 ${port} </dev/null && echo connected; ` +
            `wget -q -T 2 -O- http://example.com/ && echo online; hostname`
        ))
        server.close()
        assert.strictEqual(connections, 0)
        assert.strictEqual(stdout(op), "lo\nlinuxkit\n")
      })
    ))

  it.live("a time-out kills the whole process tree, even processes that ignore SIGTERM", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const tag = marker()
        const started = Date.now()
        const op = yield* run(request(
          image,
          `trap '' TERM; (trap '' TERM; sleep ${tag}) & (sleep ${tag}; echo never) & echo started; sleep ${tag}`,
          { timeout: 1 }
        ))
        const state = op.instance!.result!.state
        assert.isTrue(state.timed_out)
        assert.strictEqual(state.exit_code, -1)
        assert.strictEqual(state.signal, 9)
        assert.strictEqual(stdout(op), "started\n")
        assert.isBelow(Date.now() - started, 5_000)
        assert.deepStrictEqual(processesWith(`sleep ${tag}`), [])
      })
    ))

  it.live("places injected files with their modes and owners before the command starts", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const image = yield* busybox
        const script = yield* client.uploadFile({ _tag: "Bytes", bytes: new TextEncoder().encode("#!/bin/sh\necho tool ran\n") })
        const data = yield* client.uploadFile({ _tag: "Bytes", bytes: new TextEncoder().encode("payload") })
        const op = yield* run(request(image, "stat -c '%a %u %g %n' /opt/tool/run /etc/data; /opt/tool/run; ls -ld /opt /opt/tool", {
          disposable: false,
          files: {
            "/opt/tool/run": { uuid: script.uuid, mode: "0750", uid: 1000, gid: 100 },
            "/etc/data": { uuid: data.uuid, mode: "0o100600", uid: 0, gid: 0 }
          }
        }))
        assert.strictEqual(exitCode(op), 0, stderr(op))
        const lines = stdout(op).split("\n")
        assert.deepStrictEqual(lines.slice(0, 3), ["750 1000 100 /opt/tool/run", "600 0 0 /etc/data", "tool ran"])
        const listing = yield* client.listDirectory(op.resultImage!, "/opt/tool")
        const item = listing.files[0]!
        assert.deepStrictEqual([item.path, item.mode, item.owner, item.group], ["run", 0o100750, 1000, 100])
        // The files' directories in the image keep their modes and owners.
        const etc = (yield* client.listDirectory(op.resultImage!, "/")).files.find((f) => f.path === "etc")!
        assert.deepStrictEqual([etc.mode, etc.owner], [0o40755, 0])
      })
    ))

  it.live("keeps the first truncate_output_at bytes, marks the cut, and returns binary output as base64", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const long = yield* run(request(image, "yes 0123456789 | head -c 100000; yes e | head -c 50000 >&2", { truncate_output_at: 1000 }))
        const result = long.instance!.result!
        assert.strictEqual(result.stdout.value.length, 1000)
        assert.isTrue(result.stdout.truncated)
        assert.isTrue(result.stderr.truncated)
        const binary = yield* run(request(image, "printf '\\000\\377\\376ok'"))
        const out = binary.instance!.result!.stdout
        assert.strictEqual(out.encoding, "base64")
        assert.isFalse(out.truncated)
        assert.deepStrictEqual([...streamBytes(out)], [0, 255, 254, 111, 107])
      })
    ))

  it.live("passes stdin, env, cwd, hostname and argv; clears the server's environment", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const image = yield* busybox
        const shell = yield* run(request(image, "cat; echo \"[$GREETING]\"; pwd; hostname; env | sort", {
          stdin: encodeStream("from stdin\n"),
          env: { GREETING: "hi there" },
          cwd: "/tmp",
          hostname: "box"
        }))
        assert.strictEqual(
          stdout(shell),
          "from stdin\n[hi there]\n/tmp\nbox\n" +
            "GREETING=hi there\nHOME=/root\nHOSTNAME=box\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nPWD=/tmp\nSHLVL=1\n"
        )
        const argv = yield* run(request(image, "/bin/echo", { shell: false, args: ["a b", "$HOME", "*"] }))
        assert.strictEqual(stdout(argv), "a b $HOME *\n")
        const missing = yield* run(request(image, "/no/such/program", { shell: false }))
        assert.notStrictEqual(exitCode(missing), 0)
        const newCwd = yield* run(request(image, "pwd", { cwd: "/work/dir" }))
        assert.strictEqual(stdout(newCwd), "/work/dir\n")
      })
    ))
})
