// Images: their records, and the layer stacks runs and inspections read them through.
import { SqlClient } from "@effect/sql"
import { Cache, Context, Duration, Effect, Layer, Option } from "effect"
import { EngineHost } from "../host/EngineHost.js"
import { LayerStack, type StackLayer } from "../images/LayerStack.js"
import { internal, type LocalEngineError, notFound } from "../LocalEngineError.js"
import { type ImageFilter, type ImageRecords, type ImageRow, makeImageRecords } from "./ImageRecords.js"
import { requireTag } from "./QueryRules.js"
import { databaseFailed } from "./LocalDatabase.js"
import { layerDir } from "./StatePaths.js"

/** Layers whose opaque directories are kept in memory: far more than one image stacks, a few hundred KiB at most. */
export const LAYER_CACHE_CAPACITY = 4096

const db = databaseFailed
const imageNotFound = () => notFound("Image not found")

export class ImageStore extends Context.Tag("contree/local/ImageStore")<ImageStore, {
  /** The rows themselves, for writes inside a caller's transaction (commits, imports, start-up). */
  readonly records: ImageRecords
  readonly list: (filter: ImageFilter) => Effect.Effect<ReadonlyArray<ImageRow>, LocalEngineError>
  readonly find: (uuid: string) => Effect.Effect<Option.Option<ImageRow>, LocalEngineError>
  readonly require: (uuid: string) => Effect.Effect<ImageRow, LocalEngineError>
  readonly byTag: (tag: string) => Effect.Effect<ImageRow, LocalEngineError>
  /** `tag:NAME` or a uuid, as a run's `image` names it. */
  readonly resolveRef: (ref: string) => Effect.Effect<ImageRow, LocalEngineError>
  /** Moves `tag` to the image (tags are unique); the image as it is now. */
  readonly tag: (uuid: string, tag: string) => Effect.Effect<ImageRow, LocalEngineError>
  readonly untag: (uuid: string) => Effect.Effect<void, LocalEngineError>
  /** The image's layers, top first, as overlayfs stacks them. */
  readonly stackOf: (image: ImageRow) => Effect.Effect<LayerStack, LocalEngineError>
}>() {
  static readonly layer: Layer.Layer<ImageStore, never, SqlClient.SqlClient | EngineHost> = Layer.effect(
    ImageStore,
    Effect.gen(function*() {
      const records = makeImageRecords(yield* SqlClient.SqlClient)
      const { paths } = yield* EngineHost
      // A layer never changes once recorded, so what was read of it stays true; a failed or empty read is not kept.
      const layers = yield* Cache.make({
        capacity: LAYER_CACHE_CAPACITY,
        timeToLive: Duration.infinity,
        lookup: (id: string) =>
          records.layer(id).pipe(
            Effect.mapError(db),
            Effect.map(Option.map((row): StackLayer => ({ dir: layerDir(paths, id), opaque: new Set(row.opaque) })))
          )
      })
      const layer = (id: string, image: ImageRow) =>
        layers.get(id).pipe(
          Effect.tapError(() => layers.invalidate(id)),
          Effect.flatMap(Option.match({
            onNone: () =>
              layers.invalidate(id).pipe(
                Effect.zipRight(Effect.fail(internal("broken image")(`layer ${id} of image ${image.uuid} is not recorded`)))
              ),
            onSome: Effect.succeed
          }))
        )

      const find = (uuid: string) => Effect.mapError(records.get(uuid), db)
      const require = (uuid: string) => Effect.flatMap(find(uuid), Option.match({ onNone: () => Effect.fail(imageNotFound()), onSome: Effect.succeed }))
      const byTag = (tag: string) =>
        records.byTag(tag).pipe(
          Effect.mapError(db),
          Effect.flatMap(Option.match({ onNone: () => Effect.fail(imageNotFound()), onSome: Effect.succeed }))
        )

      return ImageStore.of({
        records,
        list: (filter) => Effect.mapError(records.list(filter), db),
        find,
        require,
        byTag,
        resolveRef: (ref) => (ref.startsWith("tag:") ? byTag(ref.slice(4)) : require(ref)),
        tag: (uuid, tag) =>
          Effect.gen(function*() {
            yield* require(uuid)
            yield* requireTag(tag)
            yield* Effect.mapError(records.setTag(uuid, tag), db)
            return yield* require(uuid)
          }),
        untag: (uuid) => require(uuid).pipe(Effect.zipRight(Effect.mapError(records.clearTag(uuid), db))),
        stackOf: (image) => Effect.forEach([...image.layers].reverse(), (id) => layer(id, image)).pipe(Effect.map((stack) => new LayerStack(stack)))
      })
    })
  )
}
