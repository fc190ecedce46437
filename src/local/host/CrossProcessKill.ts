import { Effect } from "effect"
import { pollUntil } from "./Polling.js"
import { emptyGroup, sandboxGroupOf } from "./Cgroup.js"
import { isRunning, killGroup } from "./HostProcess.js"

/**
 * Ends a sandbox another server process runs (`pid:starttime` of its setup process): killing the
 * setup process's group takes the sandbox down, and that process cleans up. Returns once the
 * process is gone (or after 5 s) and the run's cgroup is empty.
 */
export const killSandboxElsewhere = (sandbox: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    // Found first: the group outlives the setup process, and holds what its kill may leave (see Cgroup).
    const group = isRunning(sandbox) ? sandboxGroupOf(Number(sandbox.split(":")[0])) : undefined
    killGroup(sandbox)
    yield* pollUntil(Effect.sync(() => isRunning(sandbox)), (running) => !running, Effect.sleep("5 millis")).pipe(
      Effect.timeout("5 seconds"),
      Effect.ignore
    )
    if (group !== undefined) yield* emptyGroup(group, 5_000)
  })
