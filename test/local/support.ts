import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SpawnRequest } from "../../src/domain/Instance.js"
import type { Operation } from "../../src/domain/Operation.js"
import { decodeStream } from "../../src/domain/OutputStream.js"
import { ContreeClientLocal } from "../../src/layers/ContreeClientLocal.js"
import { LocalEngine } from "../../src/local/LocalEngine.js"
import type { LocalEngineOptions } from "../../src/local/LocalEngineOptions.js"
import { LocalEngineLive } from "../../src/local/LocalEngineLive.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"

export const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0

/** Suites that start real sandboxes; skipped, saying why, where bubblewrap is missing (CI installs it). */
export const describeSandbox: typeof describe = bwrapInstalled
  ? describe
  : ((name: string) =>
    describe.skip(`${name} (skipped: bubblewrap is not installed; apt-get install bubblewrap busybox-static attr)`, () => {})) as never

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "contree-local-"))

export const localLayer = (stateDir: string, options: Partial<LocalEngineOptions> = {}) =>
  ContreeClientLocal.pipe(Layer.provideMerge(LocalEngineLive({ stateDir, maxConcurrentRuns: 4, ...options })))

/** Runs `body` on a fresh engine over a fresh state directory, removed afterwards. */
export const withLocal = <A, E>(
  body: (stateDir: string) => Effect.Effect<A, E, LocalEngine | ContreeClient>,
  options: Partial<LocalEngineOptions> = {}
) =>
  Effect.acquireUseRelease(
    Effect.sync(tempDir),
    (dir) => body(dir).pipe(Effect.provide(localLayer(dir, options))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** Waits until `check` holds, for at most `ms`. */
export const eventually = (check: () => boolean, ms = 10_000) =>
  Effect.gen(function*() {
    const until = Date.now() + ms
    while (!check()) {
      if (Date.now() > until) return yield* Effect.die(new Error("condition not met in time"))
      yield* Effect.sleep("10 millis")
    }
  })

export const busybox = Effect.flatMap(ContreeClient, (client) => client.resolveTag("busybox:latest")).pipe(Effect.map((image) => image.uuid))

export { spawnRequest as request } from "../support/fixtures.js"

/** Spawns through the client and waits through the engine, as the server will. */
export const run = (spawn: SpawnRequest): Effect.Effect<Operation, unknown, LocalEngine | ContreeClient> =>
  Effect.gen(function*() {
    const client = yield* ContreeClient
    const engine = yield* LocalEngine
    return yield* engine.awaitOperation(yield* client.spawnInstance(spawn))
  })

export const stdout = (op: Operation): string => decodeStream(op.instance!.result!.stdout).text
export const stderr = (op: Operation): string => decodeStream(op.instance!.result!.stderr).text
export const exitCode = (op: Operation): number => op.instance!.result!.state.exit_code

const commandLines = (): Array<[number, string]> =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((pid): Array<[number, string]> => {
    try {
      return [[Number(pid), readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0$/, "").split("\0").join(" ")]]
    } catch {
      return []
    }
  })

/** Host processes whose command line contains `marker`: the sandbox's, and bwrap and its setup process, which carry the command too. */
export const processesWith = (marker: string): Array<number> =>
  commandLines().filter(([, line]) => line.includes(marker)).map(([pid]) => pid)

/** Host processes whose command line is exactly `command`. */
export const processesRunning = (command: string): Array<number> =>
  commandLines().filter(([, line]) => line === command).map(([pid]) => pid)

/** A number unlikely to appear in any other process's command line: sandbox processes are found by it. */
export const marker = (): string => String(900_000 + Math.floor(Math.random() * 99_999))
