import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Context, Effect, Layer } from "effect"
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { dirWithMode, PRIVATE_DIR, privateDatabase, privateDatabaseIfThere, privateTree } from "../files/privateFiles.js"
import { EngineHost } from "./host/EngineHost.js"
import { ImageFiles } from "./images/ImageFiles.js"
import { LocalEngine } from "./LocalEngine.js"
import { internal, type LocalEngineError } from "./LocalEngineError.js"
import { LocalEngineFace } from "./LocalEngineFace.js"
import type { LocalEngineOptions } from "./LocalEngineOptions.js"
import { Importer } from "./oci/Importer.js"
import { OperationRunner } from "./operations/OperationRunner.js"
import { FilesLayers } from "./sandbox/FilesLayer.js"
import { RunOutput } from "./sandbox/RunOutput.js"
import { seccompProgram } from "./sandbox/Seccomp.js"
import { Sandbox } from "./sandbox/Sandbox.js"
import { SandboxPool } from "./sandbox/SandboxPool.js"
import { EngineStartup } from "./startup/EngineStartup.js"
import { BlobStore } from "./store/BlobStore.js"
import { ImageStore } from "./store/ImageStore.js"
import { LocalDatabase } from "./store/LocalDatabase.js"
import { statePaths, type StatePaths } from "./store/StatePaths.js"
import { OperationStore } from "./store/OperationStore.js"

/** Directories a sandbox's root enters (see StatePaths): traversable, not listable, by that other host uid. */
const SANDBOX_DIR = 0o711

/** State directories from before `sandbox/`: their sandbox directories moved under it. */
const moveIntoSandboxDir = (paths: StatePaths) => {
  for (const dir of [paths.layers, paths.runs, paths.runtime]) {
    const old = join(paths.root, basename(dir))
    if (existsSync(old) && !existsSync(dir)) {
      mkdirSync(paths.sandbox, { recursive: true, mode: SANDBOX_DIR })
      renameSync(old, dir)
    }
  }
}

/** The sandboxes' seccomp filter, replaced whole (a sandbox starting meanwhile reads the old or the new); readable by the sandbox's root. */
const writeSeccompProgram = (paths: StatePaths) => {
  const staged = join(paths.tmp, `seccomp-${process.pid}.bpf`)
  writeFileSync(staged, seccompProgram())
  chmodSync(staged, 0o644)
  renameSync(staged, paths.seccomp)
}

/**
 * The state directory, its secrets made the server user's alone: the root 0700 (so nothing under
 * it is reached by another host user), the databases 0600, uploads 0600 in 0700 directories. Set
 * at start, so a directory made by an older version is fixed too.
 */
export const prepareStateDir = (paths: StatePaths) =>
  Effect.try({
    try: () => {
      dirWithMode(paths.root, PRIVATE_DIR)
      moveIntoSandboxDir(paths)
      for (const dir of [paths.sandbox, paths.layers, paths.runs, paths.runtime]) dirWithMode(dir, SANDBOX_DIR)
      for (const dir of [paths.links, paths.tmp]) dirWithMode(dir, PRIVATE_DIR)
      // Uploads are written 0600 since the data dir was made private: the tree is walked once, on
      // the first start after that (it may hold a million files), then marked.
      const walked = join(paths.blobs, ".private")
      if (!existsSync(walked)) {
        privateTree(paths.blobs)
        writeFileSync(walked, "", { mode: 0o600 })
      }
      privateDatabase(paths.database)
      // The MCP side's caches, when they are kept here (the local backend's default).
      for (const name of ["cache.db", "files.db"]) privateDatabaseIfThere(join(paths.root, name))
      writeSeccompProgram(paths)
    },
    catch: internal(`cannot create the state directory ${paths.root}`)
  })

/**
 * The engine over the state directory in `options`, with its database; its runs are stopped when the layer is released.
 *
 * The parts are built top to bottom below and released bottom to top, which orders shutting down:
 * the runner's queue stops this process's runs (their sandboxes killed, their directories
 * removed), then the pool kills the sandboxes it kept ready, then the start-up layer records the
 * operations left active as interrupted, and the database closes last. The parts are built in a
 * memo map of their own (`Layer.build`): two engines in one layer graph must not share a part,
 * while the engine itself is shared like any layer.
 */
export const LocalEngineLive = (options: LocalEngineOptions): Layer.Layer<LocalEngine, LocalEngineError> => {
  const paths = statePaths(options.stateDir)
  const parts = LocalEngineFace.pipe(
    Layer.provide(Layer.mergeAll(Sandbox.layer, Importer.layer, ImageFiles.layer)),
    Layer.provideMerge(Layer.mergeAll(RunOutput.layer, FilesLayers.layer)),
    Layer.provideMerge(OperationRunner.layer),
    Layer.provideMerge(SandboxPool.layer),
    Layer.provideMerge(EngineStartup),
    Layer.provideMerge(Layer.mergeAll(ImageStore.layer, OperationStore.layer, BlobStore.layer)),
    Layer.provideMerge(EngineHost.layer(options)),
    Layer.provide(LocalDatabase(paths.database)),
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Layer.effectDiscard(prepareStateDir(paths)))
  )
  return Layer.scoped(LocalEngine, Effect.map(Layer.build(parts), Context.get(LocalEngine)))
}
