// Reading an image's files and directories straight from its layers, without a sandbox.
import { Context, Effect, Layer, Option, Stream } from "effect"
import { createReadStream, constants, openSync } from "node:fs"
import { open } from "node:fs/promises"
import type { DirectoryListing } from "../../domain/Inspect.js"
import { normalizeImagePath as imagePath } from "../../domain/ImagePath.js"
import { EngineHost } from "../host/EngineHost.js"
import { internal, invalidRequest, LocalEngineError, notFound } from "../LocalEngineError.js"
import { ImageStore } from "../store/ImageStore.js"
import { directoryListing, longListingText } from "./DirectoryListing.js"
import type { GrepResult } from "../../api/ApiSchemas.js"
import type { GrepQuery } from "../../services/ContreeClient.js"
import { archiveDirectory } from "./ImageArchive.js"
import { grepStack } from "./ImageGrep.js"
import type { LayerStack, MergedEntry } from "./LayerStack.js"

// O_NOFOLLOW: the entry was resolved inside the image; the host must not follow anything further.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW

type Images = ImageStore["Type"]

const inspect = <A>(images: Images, uuid: string, what: string, f: (stack: LayerStack) => A) =>
  images.require(uuid).pipe(
    Effect.flatMap(images.stackOf),
    Effect.flatMap((stack) =>
      Effect.try({ try: () => f(stack), catch: (error) => error instanceof LocalEngineError ? error : internal(what)(error) })
    )
  )

const directory = (images: Images, uuid: string, path: string) =>
  inspect(images, uuid, "cannot list the directory", (stack) => {
    const p = imagePath(path)
    const entry = stack.resolve(p, true)
    if (entry === undefined) throw notFound("Directory not found")
    if (!entry.stats.isDirectory()) throw invalidRequest("Not a directory")
    return { path: p, entries: stack.list(entry) }
  })

/** The entry of a regular file to read; relative paths start at `/`, as the cloud accepts them. */
const regularFile = (images: Images, uuid: string, path: string) =>
  path === ""
    ? Effect.fail(invalidRequest("path is required"))
    : inspect(images, uuid, "cannot read the file", (stack): MergedEntry => {
      const entry = stack.resolve(imagePath(path), true)
      if (entry === undefined) throw notFound("file not found")
      if (entry.stats.isDirectory()) throw invalidRequest("path is a directory")
      if (!entry.stats.isFile()) throw invalidRequest("path is not a regular file")
      return entry
    })

export class ImageFiles extends Context.Tag("contree/local/ImageFiles")<ImageFiles, {
  readonly listDirectory: (uuid: string, path: string) => Effect.Effect<DirectoryListing, LocalEngineError>
  /** `ls -l`-style text of the same listing. */
  readonly listDirectoryText: (uuid: string, path: string) => Effect.Effect<string, LocalEngineError>
  readonly readFile: (uuid: string, path: string) => Effect.Effect<Uint8Array, LocalEngineError>
  readonly downloadFile: (uuid: string, path: string) => Stream.Stream<Uint8Array, LocalEngineError>
  /** Whether the image holds a regular file there; `false` for an image that does not exist. */
  readonly fileExists: (uuid: string, path: string) => Effect.Effect<boolean, LocalEngineError>
  /** Lines of the image's files matching `query` (see ImageGrep). */
  readonly grep: (uuid: string, query: GrepQuery) => Effect.Effect<GrepResult, LocalEngineError>
  /** A directory of the image as a tar stream (see ImageArchive); checked before the first byte. */
  readonly archive: (uuid: string, path: string) => Effect.Effect<Stream.Stream<Uint8Array, LocalEngineError>, LocalEngineError>
}>() {
  static readonly layer: Layer.Layer<ImageFiles, never, ImageStore | EngineHost> = Layer.effect(
    ImageFiles,
    Effect.gen(function*() {
      const images = yield* ImageStore
      const { ids } = (yield* EngineHost).host

      return ImageFiles.of({
        listDirectory: (uuid, path) => Effect.map(directory(images, uuid, path), ({ entries, path: p }) => directoryListing(p, entries, ids)),
        listDirectoryText: (uuid, path) =>
          directory(images, uuid, path).pipe(
            Effect.flatMap(({ entries, path: p }) =>
              Effect.try({
                try: () => longListingText(directoryListing(p, entries, ids), entries.map((e) => e.stats.nlink)),
                catch: internal("cannot list the directory")
              })
            )
          ),
        readFile: (uuid, path) =>
          regularFile(images, uuid, path).pipe(
            Effect.flatMap((entry) =>
              Effect.tryPromise({
                try: async () => {
                  const handle = await open(entry.hostPath, READ_FLAGS)
                  try {
                    return new Uint8Array(await handle.readFile())
                  } finally {
                    await handle.close()
                  }
                },
                catch: internal("cannot read the file")
              })
            )
          ),
        downloadFile: (uuid, path) =>
          regularFile(images, uuid, path).pipe(
            Effect.flatMap((entry) => Effect.try({ try: () => openSync(entry.hostPath, READ_FLAGS), catch: internal("cannot read the file") })),
            Effect.map((fd) =>
              Stream.fromAsyncIterable(createReadStream("", { fd, highWaterMark: 1024 * 1024 }), internal("cannot read the file")).pipe(
                Stream.map((chunk) => new Uint8Array(chunk as Buffer))
              )
            ),
            Stream.unwrap
          ),
        grep: (uuid, query) => images.require(uuid).pipe(Effect.flatMap(images.stackOf), Effect.flatMap((stack) => grepStack(stack, query))),
        archive: (uuid, path) =>
          inspect(images, uuid, "cannot archive the directory", (stack) => {
            const entry = stack.resolve(imagePath(path), true)
            if (entry === undefined) throw notFound("path not found")
            if (!entry.stats.isDirectory()) throw invalidRequest("path is not a directory (download a file with its own path)")
            return archiveDirectory(stack, entry, ids)
          }),
        fileExists: (uuid, path) =>
          images.find(uuid).pipe(
            Effect.flatMap((row) =>
              Option.isNone(row) ? Effect.succeed(false) : regularFile(images, uuid, path).pipe(
                Effect.as(true),
                Effect.catchIf((error) => error.reason === "NotFound", () => Effect.succeed(false))
              )
            )
          )
      })
    })
  )
}
