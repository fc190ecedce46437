// The LocalEngine face: each method handed to the service that owns it.
import { Effect, Layer, Option } from "effect"
import { Image } from "../domain/Image.js"
import { EngineHost } from "./host/EngineHost.js"
import { ImageFiles } from "./images/ImageFiles.js"
import { LocalEngine } from "./LocalEngine.js"
import { invalidRequest } from "./LocalEngineError.js"
import { Importer } from "./oci/Importer.js"
import { OperationRunner } from "./operations/OperationRunner.js"
import { Sandbox } from "./sandbox/Sandbox.js"
import { BlobStore, type StoredFile } from "./store/BlobStore.js"
import type { ImageRow } from "./store/ImageRecords.js"
import { ImageStore } from "./store/ImageStore.js"
import { OperationStore } from "./store/OperationStore.js"
import { listWindow } from "./store/QueryRules.js"

const toImage = (row: ImageRow) => new Image({ uuid: row.uuid, tag: row.tag, created_at: new Date(row.createdAt).toISOString() })
const toUploaded = (file: StoredFile) => ({ uuid: file.uuid, sha256: file.sha256, size: file.size })

export const LocalEngineFace: Layer.Layer<
  LocalEngine,
  never,
  EngineHost | ImageStore | ImageFiles | BlobStore | OperationStore | OperationRunner | Sandbox | Importer
> = Layer.effect(
  LocalEngine,
  Effect.gen(function*() {
    const images = yield* ImageStore
    const files = yield* ImageFiles
    const blobs = yield* BlobStore
    const operations = yield* OperationStore
    const runner = yield* OperationRunner
    const importer = yield* Importer
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
      findFileByHash: (sha256) => Effect.map(blobs.byHash(sha256), Option.map(toUploaded)),
      findFileByUuid: (uuid) => Effect.map(blobs.byUuid(uuid), Option.map(toUploaded)),
      spawn: (yield* Sandbox).spawn,
      importImage: importer.importImage,
      watchProgress: importer.watchProgress,
      listOperations: (query) =>
        listWindow(query).pipe(Effect.flatMap((window) => operations.summaries({ window, status: query.status, kind: query.kind }))),
      getOperation: (uuid) => Effect.flatMap(operations.require(uuid), operations.operation),
      cancelOperation: runner.cancel,
      awaitOperation: runner.await,
      describe: (yield* EngineHost).describe
    })
  })
)
