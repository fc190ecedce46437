// The LocalEngine face: each method handed to the service that owns it.
import { Effect, Layer, Option } from "effect"
import { Image } from "../domain/Image.js"
import { EngineHost } from "./host/EngineHost.js"
import { ImageFiles } from "./images/ImageFiles.js"
import { LocalEngine } from "./LocalEngine.js"
import { invalidRequest } from "./LocalEngineError.js"
import { Importer } from "./oci/Importer.js"
import { OperationRunner } from "./operations/OperationRunner.js"
import { RunOutput } from "./sandbox/RunOutput.js"
import { Sandbox } from "./sandbox/Sandbox.js"
import { BlobStore, type StoredFile } from "./store/BlobStore.js"
import type { ImageRow } from "./store/ImageRecords.js"
import { ImageStore } from "./store/ImageStore.js"
import { OperationStore } from "./store/OperationStore.js"
import { listWindow } from "./store/QueryRules.js"
import { databaseFailed } from "./store/LocalDatabase.js"
import type { LocalSettings } from "./LocalEngineOptions.js"

const toImage = (row: ImageRow) => new Image({ uuid: row.uuid, tag: row.tag, created_at: new Date(row.createdAt).toISOString() })
const toUploaded = (file: StoredFile) => ({ uuid: file.uuid, sha256: file.sha256, size: file.size })

/** The cloud's permission names (spec §1.4): the machine's owner may do everything. */
const PERMISSIONS = { list: true, spawn: true, spawn_disposable: true, cancel: true, import: true, set_image_tag: true }

/** The limits in force, by the cloud's names where it has them; a limit that is off is left out. */
const limitsOf = (settings: LocalSettings): Record<string, number> => ({
  instance_max_timeout: settings.maxTimeoutSeconds,
  instance_max_concurrency: settings.maxConcurrentRuns,
  ...(settings.memoryBytes === null ? {} : { instance_max_memory_bytes: settings.memoryBytes }),
  ...(settings.pids === null ? {} : { instance_max_pids: settings.pids }),
  ...(settings.diskBytes === null ? {} : { instance_max_disk_bytes: settings.diskBytes }),
  ...(settings.cpus === null ? {} : { instance_max_cpus: settings.cpus })
})

export const LocalEngineFace: Layer.Layer<
  LocalEngine,
  never,
  EngineHost | ImageStore | ImageFiles | BlobStore | OperationStore | OperationRunner | Sandbox | Importer | RunOutput
> = Layer.effect(
  LocalEngine,
  Effect.gen(function*() {
    const images = yield* ImageStore
    const files = yield* ImageFiles
    const blobs = yield* BlobStore
    const operations = yield* OperationStore
    const runner = yield* OperationRunner
    const importer = yield* Importer
    const host = yield* EngineHost
    const { settings } = host
    return LocalEngine.of({
      listImages: (query) =>
        listWindow(query).pipe(
          Effect.flatMap((window) => images.list({ window, tagged: query.tagged, tagPrefix: query.tagPrefix })),
          Effect.map((rows) => rows.map(toImage))
        ),
      getImage: (uuid) => Effect.map(images.require(uuid), toImage),
      resolveTag: (tag) => (tag === "" ? Effect.fail(invalidRequest("tag is required")) : Effect.map(images.byTag(tag), toImage)),
      tagImage: (uuid, tag) => Effect.map(images.tag(uuid, tag), toImage),
      untagImage: images.untag,
      listDirectory: files.listDirectory,
      listDirectoryText: files.listDirectoryText,
      readFile: files.readFile,
      downloadFile: files.downloadFile,
      fileExists: files.fileExists,
      grep: files.grep,
      downloadArchive: files.archive,
      uploadFile: (body) => Effect.map(blobs.upload(body), toUploaded),
      storeHostFiles: blobs.storeHostFiles,
      findFileByHash: (sha256) => Effect.map(blobs.byHash(sha256), Option.map(toUploaded)),
      findFileByUuid: (uuid) => Effect.map(blobs.byUuid(uuid), Option.map(toUploaded)),
      spawn: (yield* Sandbox).spawn,
      importImage: importer.importImage,
      watchProgress: importer.watchProgress,
      watchOutput: (yield* RunOutput).watch,
      listOperations: (query) =>
        listWindow(query).pipe(Effect.flatMap((window) => operations.summaries({ window, status: query.status, kind: query.kind }))),
      getOperation: (uuid) => Effect.flatMap(operations.require(uuid), operations.operation),
      cancelOperation: runner.cancel,
      awaitOperation: runner.await,
      whoami: Effect.map(Effect.mapError(operations.records.countsByStatus, databaseFailed), (counts) => ({
        permissions: PERMISSIONS,
        limits: limitsOf(settings),
        operations_stat: counts
      })),
      describe: host.describe
    })
  })
)
