import { Schema } from "effect"
import { Timestamp } from "./Image.js"
import { InstanceMetadata } from "./Instance.js"
import { droppable, tolerant } from "./Lenient.js"

/**
 * The current generation's accounting of an operation (summary and response alike): bytes written
 * to the result layer, CPU seconds, peak memory, the source image (null for imports) and the
 * result image (set on SUCCESS). Each is dropped when its shape drifted, never failing the operation.
 */
const accounting = {
  image_size: droppable(Schema.NullOr(Schema.Number)),
  consumed_cpu: droppable(Schema.NullOr(Schema.Number)),
  consumed_memory: droppable(Schema.NullOr(Schema.Number)),
  image_uuid: droppable(Schema.NullOr(Schema.String)),
  result_image_uuid: droppable(Schema.NullOr(Schema.String))
}

export const OperationStatus = Schema.Literal("PENDING", "ASSIGNED", "EXECUTING", "SUCCESS", "FAILED", "CANCELLED")
export type OperationStatus = typeof OperationStatus.Type

export const terminalStatuses: ReadonlySet<OperationStatus> = new Set(["SUCCESS", "FAILED", "CANCELLED"])
export const isTerminal = (status: OperationStatus): boolean => terminalStatuses.has(status)

/** `instance` or `image_import`; some responses use other casing, so it is lower-cased on decode. */
export const OperationKind = Schema.compose(Schema.Lowercase, Schema.Literal("instance", "image_import"))
export type OperationKind = typeof OperationKind.Type

export const ImportRequest = Schema.Struct({
  registry: Schema.Struct({
    url: Schema.String,
    credentials: Schema.optional(Schema.Struct({ username: Schema.String, password: Schema.String }))
  }),
  tag: Schema.optional(Schema.String),
  timeout: Schema.Int
})
export type ImportRequest = typeof ImportRequest.Type

/** Import metadata as echoed by the server. Credentials are never decoded, so they cannot leak further. */
export const ImportMetadata = Schema.Struct({
  registry: Schema.Struct({ url: Schema.String }),
  tag: Schema.optional(Schema.NullOr(Schema.String)),
  timeout: Schema.optional(Schema.NullOr(Schema.Number))
})
export type ImportMetadata = typeof ImportMetadata.Type

export const OperationResult = Schema.Struct({
  image: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  tag: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})

/**
 * `GET /operations/{uuid}`. The process outcome lives at `metadata.result`; the top-level `result`
 * holds only the output image and tag. Metadata that matches neither shape decodes as null
 * instead of failing the whole response.
 */
export class Operation extends Schema.Class<Operation>("Operation")({
  uuid: Schema.String,
  status: OperationStatus,
  kind: OperationKind,
  error: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  created_at: Schema.optional(Timestamp),
  duration: Schema.optionalWith(tolerant(Schema.Number, () => 0), { default: () => 0, nullable: true }),
  metadata: Schema.optionalWith(
    Schema.NullOr(Schema.Union(InstanceMetadata, ImportMetadata, Schema.Unknown.pipe(Schema.transform(Schema.Null, {
      strict: true,
      decode: () => null,
      encode: (n) => n
    })))),
    { default: () => null }
  ),
  result: Schema.optionalWith(tolerant(Schema.NullOr(OperationResult), () => null), { default: () => null }),
  ...accounting
}) {
  get isTerminal(): boolean {
    return isTerminal(this.status)
  }
  get instance(): InstanceMetadata | undefined {
    return this.metadata !== null && "command" in this.metadata ? this.metadata : undefined
  }
  get importMetadata(): ImportMetadata | undefined {
    return this.metadata !== null && "registry" in this.metadata ? this.metadata : undefined
  }
  /** The output image, from either response generation. */
  get resultImage(): string | null {
    return this.result?.image ?? this.result_image_uuid ?? null
  }
}

export class OperationSummary extends Schema.Class<OperationSummary>("OperationSummary")({
  uuid: Schema.String,
  kind: OperationKind,
  status: OperationStatus,
  error: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  created_at: Schema.optionalWith(Timestamp, { default: () => "" }),
  duration: droppable(Schema.NullOr(Schema.Number)),
  ...accounting
}) {}

/** Both generations: a bare array, or `{"operations": [...]}`. */
export const OperationList = Schema.Union(
  Schema.Array(OperationSummary),
  Schema.Struct({ operations: Schema.Array(OperationSummary) })
)

export const operationListItems = (list: typeof OperationList.Type): ReadonlyArray<OperationSummary> =>
  "operations" in list ? list.operations : list

/** `{"uuid": ...}` answered by spawn and import. */
export const CreatedOperation = Schema.Struct({ uuid: Schema.optionalWith(Schema.String, { default: () => "" }) })

/**
 * `POST /images/import` as a server accepts it (spec §3.2): `tag` may be null, `timeout` defaults
 * to 300 s, and empty credentials mean an anonymous pull.
 */
export const ImportRequestBody = Schema.Struct({
  registry: Schema.Struct({
    url: Schema.String,
    credentials: Schema.optionalWith(Schema.Struct({ username: Schema.String, password: Schema.String }), { nullable: true })
  }),
  tag: Schema.optionalWith(Schema.String, { nullable: true }),
  timeout: Schema.optionalWith(Schema.Int, { default: () => 300, nullable: true })
})
