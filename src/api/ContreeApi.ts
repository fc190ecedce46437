/**
 * The ConTree REST API v1, both generations, defined once (spec: contree-api.md §3,
 * contree-api-current.md §1.3–1.4): every route's path, parameters, body and response as Schema.
 * `contree-mcp serve` builds its router from it (`src/serve/ApiApp.ts`, `HttpApiBuilder`), the cloud
 * client derives its requests and decoders from it (`src/layers/ContreeClientLive.ts`, via
 * `ApiRequest`), and the test fake routes by it (`test/fake/`).
 *
 * Paths are relative to `{base}/v1`. What `HttpApi` cannot say (the event stream, response headers
 * such as `Location`, the per-status error body, HEAD's 404-means-false) is described in
 * `HandWrittenRoutes.ts`, beside this definition, with these schemas.
 */
// Subpath imports: through the package's index these modules would land in the chunk every start
// loads, though only the cloud client's first call and `serve` need them.
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import { Schema } from "effect"
import { Image, ImageList } from "../domain/Image.js"
import { DirectoryListing, UploadedFile } from "../domain/Inspect.js"
import { InstanceResult, SpawnRequestBody } from "../domain/Instance.js"
import { CreatedOperation, ImportRequestBody, Operation, OperationList, OperationStatus } from "../domain/Operation.js"
import {
  ApiError,
  CancelledOperation,
  ClosableStream,
  CreatedSubprocess,
  ExecSpec,
  FileList,
  FileRecord,
  GrepParams,
  GrepResult,
  KillParams,
  oneOf,
  Page,
  PageBound,
  PresenceFlag,
  requiredParam,
  TagBody,
  TaggedFlag,
  TimeWindow,
  WhoAmI
} from "./ApiSchemas.js"

const UuidPath = Schema.Struct({ uuid: Schema.String })
const SubprocessPath = Schema.Struct({ uuid: Schema.String, spid: Schema.NumberFromString })
const Sha256Path = Schema.Struct({ sha256: Schema.String })
const FilePathParams = Schema.Struct({ path: requiredParam("path") })

/** Raw bytes, both ways: uploads, downloads. */
export const Bytes = HttpApiSchema.Uint8Array({ contentType: "application/octet-stream" })
/** `ls -l` text, the other form of a directory listing. */
export const ListingText = HttpApiSchema.Text({ contentType: "text/plain; charset=utf-8" })
/** A PAX tar of a directory of an image. */
export const Tarball = HttpApiSchema.Uint8Array({ contentType: "application/x-tar" })

// == images (#1–4)

export const listImages = HttpApiEndpoint.get("listImages", "/images")
  .setUrlParams(Schema.Struct({
    ...Page,
    ...TimeWindow,
    tagged: Schema.optional(TaggedFlag),
    /** A tag prefix. */
    tag: Schema.optional(Schema.String),
    uuid: Schema.optional(Schema.String)
  }))
  .addSuccess(ImageList)

/** 201 `{uuid}` plus `Location: /v1/operations/{uuid}`; clients take the id from either. */
export const importImage = HttpApiEndpoint.post("importImage", "/images/import")
  .setPayload(ImportRequestBody)
  .addSuccess(CreatedOperation, { status: 201 })

export const tagImage = HttpApiEndpoint.patch("tagImage", "/images/:uuid/tag")
  .setPath(UuidPath)
  .setPayload(TagBody)
  .addSuccess(Image)

/** 204; `tag`, when given, must be the image's tag (newer clients name it). */
export const untagImage = HttpApiEndpoint.del("untagImage", "/images/:uuid/tag")
  .setPath(UuidPath)
  .setUrlParams(Schema.Struct({ tag: Schema.optional(Schema.String) }))
  .addSuccess(HttpApiSchema.NoContent)

export const ImagesGroup = HttpApiGroup.make("images").add(listImages).add(importImage).add(tagImage).add(untagImage)

// == inspect (#18–25, and the slashless redirects)

/** Slashless: a 308 to `inspect/` with the query kept (HEAD stays HEAD). */
export const inspectSlashless = HttpApiEndpoint.get("inspectSlashless", "/inspect")
  .addSuccess(HttpApiSchema.Empty(308))

/** A 302 whose `Location`, relative to `/v1/inspect/`, is `{uuid}/`; fetch follows it to `getImage`. */
export const resolveTag = HttpApiEndpoint.get("resolveTag", "/inspect/")
  .setUrlParams(Schema.Struct({ tag: requiredParam("tag") }))
  .addSuccess(HttpApiSchema.Empty(302))

/** Slashless: a 308 to `{uuid}/` with the query kept. */
export const imageSlashless = HttpApiEndpoint.get("imageSlashless", "/inspect/:uuid")
  .setPath(UuidPath)
  .addSuccess(HttpApiSchema.Empty(308))

export const getImage = HttpApiEndpoint.get("getImage", "/inspect/:uuid/")
  .setPath(UuidPath)
  .addSuccess(Image)

/** JSON, or `ls -l` text whenever a `text` parameter is present (whatever its value). */
export const listDirectory = HttpApiEndpoint.get("listDirectory", "/inspect/:uuid/list")
  .setPath(UuidPath)
  .setUrlParams(Schema.Struct({ path: requiredParam("path"), text: PresenceFlag }))
  .addSuccess(DirectoryListing)
  .addSuccess(ListingText)

/** An endpoint about one path of an image: `{uuid}` in the path, `path` in the query. */
const ofImagePath = <const Name extends string, Method extends HttpMethod.HttpMethod>(endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, Method>) =>
  endpoint.setPath(UuidPath).setUrlParams(FilePathParams)

/** The file's bytes, streamed. */
export const downloadFile = ofImagePath(HttpApiEndpoint.get("downloadFile", "/inspect/:uuid/download")).addSuccess(Bytes)

/** 200 when the file exists, 404 when not; no body either way. */
export const downloadExists = ofImagePath(HttpApiEndpoint.head("downloadExists", "/inspect/:uuid/download")).addSuccess(HttpApiSchema.Empty(200))

/** A directory as a tar stream; member names are relative to the root (`etc/hosts`). */
export const downloadArchive = ofImagePath(HttpApiEndpoint.get("downloadArchive", "/inspect/:uuid/archive")).addSuccess(Tarball)

export const archiveExists = ofImagePath(HttpApiEndpoint.head("archiveExists", "/inspect/:uuid/archive")).addSuccess(HttpApiSchema.Empty(200))

export const grepImage = HttpApiEndpoint.get("grepImage", "/inspect/:uuid/grep")
  .setPath(UuidPath)
  .setUrlParams(GrepParams)
  .addSuccess(GrepResult)

export const InspectGroup = HttpApiGroup.make("inspect")
  .add(inspectSlashless)
  .add(resolveTag)
  .add(imageSlashless)
  .add(getImage)
  .add(listDirectory)
  .add(downloadFile)
  .add(downloadExists)
  .add(downloadArchive)
  .add(archiveExists)
  .add(grepImage)

// == files (#5–8, and the older generation's lookups)

/**
 * A page of uploads; or, with the older generation's `sha256=`/`uuid=`, the one upload they name
 * (404 when absent). The lookup wins over the listing, as older clients expect a single object.
 */
export const listFiles = HttpApiEndpoint.get("listFiles", "/files")
  .setUrlParams(Schema.Struct({
    limit: Schema.optional(PageBound),
    offset: Schema.optional(PageBound),
    ...TimeWindow,
    sha256: Schema.optional(Schema.String),
    uuid: Schema.optional(Schema.String)
  }))
  .addSuccess(FileList)
  .addSuccess(UploadedFile)

/** The older generation's existence check: 200 or 404 for `sha256=` or `uuid=`. */
export const fileLookupExists = HttpApiEndpoint.head("fileLookupExists", "/files")
  .setUrlParams(Schema.Struct({ sha256: Schema.optional(Schema.String), uuid: Schema.optional(Schema.String) }))
  .addSuccess(HttpApiSchema.Empty(200))

/** Raw bytes (`application/octet-stream`, possibly chunked); 201 with the stored file. */
export const uploadFile = HttpApiEndpoint.post("uploadFile", "/files")
  .setPayload(Bytes)
  .addSuccess(UploadedFile, { status: 201 })

export const getFile = HttpApiEndpoint.get("getFile", "/files/:sha256")
  .setPath(Sha256Path)
  .addSuccess(FileRecord)

export const fileExists = HttpApiEndpoint.head("fileExists", "/files/:sha256")
  .setPath(Sha256Path)
  .addSuccess(HttpApiSchema.Empty(200))

export const FilesGroup = HttpApiGroup.make("files").add(listFiles).add(fileLookupExists).add(uploadFile).add(getFile).add(fileExists)

// == instances (#9)

/** 201 `{uuid}` plus `Location: /v1/operations/{uuid}`. */
export const spawnInstance = HttpApiEndpoint.post("spawnInstance", "/instances")
  .setPayload(SpawnRequestBody)
  .addSuccess(CreatedOperation, { status: 201 })

export const InstancesGroup = HttpApiGroup.make("instances").add(spawnInstance)

// == operations (#10–17; #13, the event stream, is hand-written)

/** A bare array (current generation) or `{"operations": [...]}` (older). */
export const listOperations = HttpApiEndpoint.get("listOperations", "/operations")
  .setUrlParams(Schema.Struct({
    ...Page,
    ...TimeWindow,
    status: Schema.optional(oneOf("status", OperationStatus.literals)),
    kind: Schema.optional(oneOf("kind", ["instance", "image_import"]))
  }))
  .addSuccess(OperationList)

export const getOperation = HttpApiEndpoint.get("getOperation", "/operations/:uuid")
  .setPath(UuidPath)
  .setUrlParams(Schema.Struct({ inflight: PresenceFlag }))
  .addSuccess(Operation)

/** 202; 409 "operation is not cancellable" once the operation is over. */
export const cancelOperation = HttpApiEndpoint.del("cancelOperation", "/operations/:uuid")
  .setPath(UuidPath)
  .addSuccess(CancelledOperation, { status: 202 })

export const createSubprocess = HttpApiEndpoint.post("createSubprocess", "/operations/:uuid/subprocesses")
  .setPath(UuidPath)
  .setPayload(ExecSpec)
  .addSuccess(CreatedSubprocess, { status: 201 })

export const getSubprocess = HttpApiEndpoint.get("getSubprocess", "/operations/:uuid/subprocesses/:spid")
  .setPath(SubprocessPath)
  .addSuccess(InstanceResult)

export const killSubprocess = HttpApiEndpoint.del("killSubprocess", "/operations/:uuid/subprocesses/:spid")
  .setPath(SubprocessPath)
  .setUrlParams(KillParams)
  .addSuccess(HttpApiSchema.NoContent)

export const writeSubprocessStdin = HttpApiEndpoint.post("writeSubprocessStdin", "/operations/:uuid/subprocesses/:spid/stdin")
  .setPath(SubprocessPath)
  .setPayload(ClosableStream)
  .addSuccess(HttpApiSchema.NoContent)

export const OperationsGroup = HttpApiGroup.make("operations")
  .add(listOperations)
  .add(getOperation)
  .add(cancelOperation)
  .add(createSubprocess)
  .add(getSubprocess)
  .add(killSubprocess)
  .add(writeSubprocessStdin)

// == whoami (#26)

export const whoami = HttpApiEndpoint.get("whoami", "/whoami").addSuccess(WhoAmI)

export const WhoamiGroup = HttpApiGroup.make("whoami").add(whoami)

/** The whole API, relative to `/v1`. */
export class ContreeApi extends HttpApi.make("contree")
  .add(ImagesGroup)
  .add(InspectGroup)
  .add(FilesGroup)
  .add(InstancesGroup)
  .add(OperationsGroup)
  .add(WhoamiGroup)
  .addError(ApiError)
{}
