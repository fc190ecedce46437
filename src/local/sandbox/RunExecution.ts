import type { SqlClient } from "@effect/sql"
import { Clock, Effect, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import { chownSync, mkdirSync, renameSync } from "node:fs"
import { join, posix } from "node:path"
import { BUSYBOX } from "../images/BusyboxImage.js"
import type { FilesLayers } from "./FilesLayer.js"
import type { HostCapabilities } from "../host/HostCapabilities.js"
import { fromHostGid, fromHostUid } from "../host/IdMapping.js"
import type { ImageDefaults, ImageRecords, ImageRow } from "../store/ImageRecords.js"
import { stageLayer, treeBytes } from "../images/LayerCommit.js"
import type { LayerStack } from "../images/LayerStack.js"
import { internal, invalidRequest, LocalEngineError } from "../LocalEngineError.js"
import type { LocalSettings } from "../LocalEngineOptions.js"
import type { OperationRecords } from "../store/OperationRecords.js"
import { removeTree } from "../host/removeTree.js"
import type { RunOutputSink } from "./RunOutput.js"
import { runtimeLayer } from "./RuntimeLayer.js"
import type { RunRequest } from "./RunRequest.js"
import { dnsAddress } from "./SandboxNetwork.js"
import type { SandboxPool } from "./SandboxPool.js"
import { SANDBOX_PATH, type SandboxHost, type SandboxOutcome } from "./SandboxProcess.js"
import { runSandbox } from "./SandboxRun.js"
import { layerDir, newLayerId, runDir, type StatePaths } from "../store/StatePaths.js"

/** What running an operation needs: the `Sandbox` service's dependencies. */
export interface RunContext {
  readonly settings: LocalSettings
  readonly paths: StatePaths
  readonly host: HostCapabilities
  readonly sandboxHost: SandboxHost
  readonly sandboxes: SandboxPool["Type"]
  readonly sql: SqlClient.SqlClient
  readonly images: ImageRecords
  readonly operations: OperationRecords
  readonly filesLayers: FilesLayers["Type"]
  readonly stackOf: (image: ImageRow) => Effect.Effect<LayerStack, LocalEngineError>
  /** Tells waiters the operation's outcome is recorded; clean-up goes on without holding them up. */
  readonly settled: (id: string) => Effect.Effect<void>
}

// Docker's default set: enough for package managers (chown, setuid to a service user), nothing
// that reconfigures the namespaces (no CAP_SYS_ADMIN). bwrap also sets no_new_privs.
const CAPABILITIES = [
  "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
  "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"
]

/**
 * Where a run as an image's non-root User finds the host's static busybox, whose `nsenter -S UID`
 * (no namespace named) sets the uid and execs the command. bwrap's /dev is a tmpfs of its own, so
 * the file never reaches the image's upper dir; busybox picks the applet from the file's name.
 */
const SWITCH_UID = "/dev/.contree/nsenter"

/** The command, started as the run's user: the kernel clears the capabilities as the uid leaves 0. */
const commandAs = (run: RunRequest): Array<string> =>
  run.user === undefined || run.user.uid === 0 ? [...run.argv] : [SWITCH_UID, "-S", String(run.user.uid), "--", ...run.argv]

/** Docker's default `/dev/shm` size. */
const SHM_BYTES = 64 * 1024 * 1024

/** bwrap's options after `--bind ROOT /`: the namespaces and the process's environment (the command follows `--`). */
const bwrapArguments = (run: RunRequest): Array<string> => [
  "--proc", "/proc",
  "--dev", "/dev",
  // POSIX shared memory for every user (Python's multiprocessing, Chromium, PostgreSQL), sized as Docker's;
  // its pages count against the run's memory limit, as tmpfs pages do against the writer's cgroup.
  "--perms", "1777", "--size", String(SHM_BYTES), "--tmpfs", "/dev/shm",
  // bwrap makes the parents of a bind 0700, which the user could not pass.
  ...(run.user === undefined || run.user.uid === 0 ? [] : ["--perms", "0755", "--dir", posix.dirname(SWITCH_UID), "--ro-bind", BUSYBOX, SWITCH_UID]),
  "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
  "--die-with-parent",
  // A new session: no access to the server's controlling terminal (TIOCSTI).
  "--new-session",
  "--hostname", run.hostname,
  "--chdir", run.cwd,
  "--clearenv",
  // A cleared environment, but with the PATH and HOME every container has (Docker sets both); the request's env wins.
  ...Object.entries({ PATH: SANDBOX_PATH, HOME: run.user?.home ?? "/root", HOSTNAME: run.hostname, ...run.env }).flatMap(([name, value]) => [
    "--setenv",
    name,
    value
  ]),
  "--cap-drop", "ALL",
  ...CAPABILITIES.flatMap((cap) => ["--cap-add", `CAP_${cap}`])
]

/** An image's config with `env` as the run had it (`preserve_env`): later runs on the result see it. */
const bakedDefaults = (defaults: ImageDefaults | null, env: Readonly<Record<string, string>>): ImageDefaults => ({
  workingDir: null,
  user: null,
  entrypoint: null,
  cmd: null,
  ...defaults,
  env: Object.entries(env).map(([name, value]) => `${name}=${value}`)
})

/** Field by field: records decode their keys in their own order. */
const sameDefaults = (a: ImageDefaults | null, b: ImageDefaults | null) => {
  const fields = (d: ImageDefaults | null) => (d === null ? [[], null, null, null, null] : [d.env, d.workingDir, d.user, d.entrypoint, d.cmd])
  return JSON.stringify(fields(a)) === JSON.stringify(fields(b))
}

/** The top layer first, relative to the layers directory, as overlayfs's `lowerdir` takes them. */
const lowerdir = (layers: ReadonlyArray<string>) => [...layers].reverse().join(":")

/** `metadata.result` (spec §2.6): the process's end and what it used. Unknown figures are -1, as in the cloud's defaults. */
const instanceResult = (outcome: SandboxOutcome) => ({
  state: {
    exit_code: outcome.timedOut ? -1 : outcome.exitCode,
    // bwrap's init is pid 1 in the sandbox, the command pid 2.
    pid: 2,
    signal: outcome.timedOut ? 9 : -1,
    timed_out: outcome.timedOut,
    continued: false,
    core_dump: false,
    stopped: false
  },
  resources: {
    block_input: -1,
    block_output: -1,
    cost: -1,
    elapsed_time: outcome.elapsedSeconds,
    involuntary_switches: -1,
    max_rss: outcome.usage?.maxRssKiB ?? -1,
    monotonic_time: outcome.elapsedSeconds,
    page_faults: outcome.usage?.pageFaults ?? -1,
    page_faults_io: outcome.usage?.majorFaults ?? -1,
    shared_memory: -1,
    signals: -1,
    swaps: -1,
    system_cpu_time: outcome.usage?.systemSeconds ?? -1,
    unshared_memory: -1,
    user_cpu_time: outcome.usage?.userSeconds ?? -1,
    voluntary_switches: -1
  },
  stdout: outcome.stdout,
  stderr: outcome.stderr
})

/**
 * The run's scratch directory, owned by the sandbox's root (it copies the upper dir there); removed
 * with the scope. An upper dir on disk is made here too, as the sandbox's root would make it: no
 * process on the run's path.
 */
const scratch = (ctx: RunContext, id: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const dir = runDir(ctx.paths, id)
        const own = [dir, ...(ctx.sandboxHost.diskBytes === null ? [join(dir, "upper"), join(dir, "work")] : [])]
        own.forEach((path, i) => {
          mkdirSync(path, { mode: i === 0 ? 0o700 : 0o755 })
          chownSync(path, ctx.host.ids.uid, ctx.host.ids.gid)
        })
        return dir
      },
      catch: internal("cannot create the run's directory")
    }),
    (dir) => removeTree(dir)
  )

/** Copies the merged tree of `lowers` into `runs/<id>/flat`: one layer standing for a long chain. */
const flatten = (ctx: RunContext, id: string, lowers: string) =>
  ctx.sandboxes.take.pipe(
    Effect.flatMap((prepared) =>
      runSandbox(
        { runId: id, mode: "flatten", lowers, rootMode: "", rootOwner: "", keep: false, bwrapArgs: [], command: [], stdin: new Uint8Array(), timeoutMs: null, truncateAt: 0 },
        ctx.sandboxHost,
        prepared
      )
    ),
    Effect.scoped,
    Effect.as(join(runDir(ctx.paths, id), "flat"))
  )

/**
 * Records a run's changes as a new image, atomically with the operation's SUCCESS: the layer
 * directory is renamed into place inside the write transaction, so a cancel that won the race,
 * or any failure, leaves neither a row nor a directory. A chain that would grow past
 * `maxLayers` becomes a single flattened layer.
 */
const commit = (
  ctx: RunContext,
  id: string,
  image: ImageRow,
  base: ReadonlyArray<string>,
  changes: { readonly staged: string; readonly opaque: ReadonlyArray<string> } | undefined,
  metadata: Record<string, unknown>,
  defaults: ImageDefaults | null
) =>
  Effect.gen(function*() {
    // The files layer alone may take the chain past the limit too.
    const squash = base.length + (changes === undefined ? 0 : 1) > ctx.settings.maxLayers
    const source = squash
      ? yield* flatten(ctx, id, changes === undefined ? lowerdir(base) : `../runs/${id}/out:${lowerdir(base)}`)
      : changes?.staged
    const layer = source === undefined ? undefined : { id: newLayerId(), opaque: squash ? [] : changes!.opaque }
    const target = layer === undefined ? undefined : layerDir(ctx.paths, layer.id)
    const createdAt = yield* Clock.currentTimeMillis
    const created: ImageRow = {
      uuid: randomUUID(),
      layers: layer === undefined ? base : squash ? [layer.id] : [...base, layer.id],
      parent: image.uuid,
      tag: null,
      source: "run",
      operation: id,
      createdAt,
      manifest: null,
      defaults
    }
    const staged = layer === undefined ? [] : [layer.id]
    const transaction = Effect.gen(function*() {
      // The first statement writes, so this process holds the write lock from here on.
      yield* ctx.images.unstageLayers(staged)
      if (!(yield* ctx.operations.finish(id, { status: "SUCCESS", error: null, metadata, resultImage: created.uuid }))) return
      if (source !== undefined && target !== undefined) {
        yield* Effect.try({ try: () => renameSync(source, target), catch: internal("cannot store the new layer") })
      }
      yield* ctx.images.insert(created, layer)
    })
    yield* ctx.images.stageLayers(staged, createdAt).pipe(
      Effect.zipRight(ctx.sql.withTransaction(transaction)),
      Effect.mapError((error) => error instanceof LocalEngineError ? error : internal("cannot record the new image")(error)),
      Effect.tapError(() => (target === undefined ? Effect.void : removeTree(target))),
      Effect.zipRight(ctx.settled(id)),
      Effect.uninterruptible
    )
  })

const finish = (ctx: RunContext, id: string, metadata: Record<string, unknown>, resultImage: string | null) =>
  ctx.operations.finish(id, { status: "SUCCESS", error: null, metadata, resultImage }).pipe(
    Effect.mapError(internal("cannot record the operation's end")),
    Effect.zipRight(ctx.settled(id))
  )

/** Runs an EXECUTING instance operation in a sandbox and records how it ended. */
export const executeRun = (
  ctx: RunContext,
  id: string,
  image: ImageRow,
  run: RunRequest,
  output: RunOutputSink
): Effect.Effect<void, LocalEngineError, Scope.Scope> =>
  Effect.gen(function*() {
    const stack = yield* ctx.stackOf(image)
    const dir = yield* scratch(ctx, id)
    const files = yield* ctx.filesLayers.forRun(image, stack, run.files, run.cwd)
    const base = files === undefined ? image.layers : [...image.layers, files]
    const root = yield* Effect.try({ try: () => stack.root().stats, catch: internal("cannot read the image") })
    const runtime = yield* runtimeLayer(
      ctx.paths,
      stack,
      { hostname: run.hostname, nameserver: run.network === undefined ? undefined : dnsAddress(run.network) },
      ctx.host.ids
    )
    const prepared = yield* ctx.sandboxes.take
    // What a cancel from another server process kills.
    yield* ctx.operations.setSandbox(id, prepared.identity).pipe(Effect.mapError(internal("cannot record the sandbox")))
    const outcome = yield* runSandbox(
      {
        runId: id,
        mode: "run",
        // /etc/hosts, /etc/hostname (and a networked run's /etc/resolv.conf) come from a layer of their own, on top of the
        // image; the run's files over both, so they win over whatever is at their paths.
        lowers: [files, runtime, lowerdir(image.layers)].filter((dir) => dir !== undefined).join(":"),
        rootMode: (root.mode & 0o7777).toString(8),
        rootOwner: `${fromHostUid(ctx.host.ids, root.uid)}:${fromHostGid(ctx.host.ids, root.gid)}`,
        keep: !run.disposable,
        bwrapArgs: bwrapArguments(run),
        command: commandAs(run),
        // Root's group alone is what a sandbox starts with (stage 1 clears the rest).
        groups: run.user === undefined || (run.user.gid === 0 && run.user.groups.length === 0)
          ? undefined
          : { gid: run.user.gid, supplementary: run.user.groups },
        stdin: run.stdin,
        timeoutMs: run.timeoutMs,
        truncateAt: run.truncateAt,
        network: run.network
      },
      ctx.sandboxHost,
      prepared,
      output
    )
    output.close()
    const metadata = { ...run.metadata, result: instanceResult(outcome) }
    if (run.disposable) return yield* finish(ctx, id, metadata, null)
    const staged = join(dir, "out")
    const layer = yield* stageLayer(stack, staged, join(dir, "opaque"))
    const defaults = run.preserveEnv ? bakedDefaults(image.defaults, run.env) : image.defaults
    if (layer._tag === "Unchanged") {
      // Only the files given or the environment changed: a new image over the image's layers (and the files'), else the same image.
      return yield* files === undefined && sameDefaults(defaults, image.defaults)
        ? finish(ctx, id, metadata, image.uuid)
        : commit(ctx, id, image, base, undefined, metadata, defaults)
    }
    if (run.maxLayerBytes !== undefined) {
      const size = yield* Effect.try({ try: () => treeBytes(staged), catch: internal("cannot measure the run's changes") })
      if (size > run.maxLayerBytes) {
        return yield* invalidRequest(`the run's changes are ${size} bytes, more than max_layer_bytes (${run.maxLayerBytes}): no image was saved`)
      }
    }
    yield* commit(ctx, id, image, base, { staged, opaque: layer.opaque }, metadata, defaults)
  })
