import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { cgroupsNamed } from "../../support/cgroups.js"
import { busybox, describeSandbox, eventually, exitCode, request, run, stdout, withLocal } from "../support.js"

/** Live host processes started for the engine over `stateDir`: every sandbox setup process carries it in its environment. */
const setupProcesses = (stateDir: string): Array<number> =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      if (/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "latin1"))) return []
      return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`CONTREE_STATE=${join(stateDir, "sandbox")}`) ? [Number(pid)] : []
    } catch {
      return []
    }
  })

/** The cgroups of this test process's prepared sandboxes. */
const poolCgroups = () => cgroupsNamed(`contree-run-${process.pid}-pool-`)

describeSandbox("sandbox pool", () => {
  it.live("keeps sandboxes prepared between runs, and none outlives the engine", () =>
    Effect.gen(function*() {
      let stateDir = ""
      yield* withLocal((dir) =>
        Effect.gen(function*() {
          stateDir = dir
          const image = yield* busybox
          yield* eventually(() => setupProcesses(dir).length > 0)
          for (let i = 0; i < 3; i++) {
            const op = yield* run(request(image, `echo run-${i}`))
            assert.strictEqual(stdout(op), `run-${i}\n`)
          }
          // The pool refills after each run.
          yield* eventually(() => setupProcesses(dir).length > 0)
        })
      )
      assert.deepStrictEqual(setupProcesses(stateDir), [])
      assert.deepStrictEqual(poolCgroups(), [])
    }))

  it.live("a prepared sandbox killed while it waits is not used", () =>
    withLocal((stateDir) =>
      Effect.gen(function*() {
        const image = yield* busybox
        yield* eventually(() => setupProcesses(stateDir).length > 0)
        // Let the pool finish preparing, then kill everything it holds.
        yield* Effect.sleep("500 millis")
        const killed = setupProcesses(stateDir)
        for (const pid of killed) process.kill(pid, "SIGKILL")
        // A kill lands when the victim next runs: the run comes once they are dead.
        yield* eventually(() => !setupProcesses(stateDir).some((pid) => killed.includes(pid)))
        const op = yield* run(request(image, "echo fine"))
        assert.strictEqual(op.status, "SUCCESS", op.error ?? "")
        assert.strictEqual(exitCode(op), 0)
        assert.strictEqual(stdout(op), "fine\n")
      })
    ))
})
