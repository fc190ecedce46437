import { HttpApi, OpenApi } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Either, Option, ParseResult, Schema } from "effect"
import { endpointRequest, successSchema } from "../../src/api/ApiRequest.js"
import * as Api from "../../src/api/ContreeApi.js"
import { encodeErrorBody, errorMessage, idFromLocation, operationEvents, tagLocation } from "../../src/api/HandWrittenRoutes.js"

const routes = () => {
  const found: Array<string> = []
  HttpApi.reflect(Api.ContreeApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => found.push(`${endpoint.method} ${endpoint.path}`)
  })
  return found
}

/** The first issue's message when `value` does not decode as `endpoint`'s query parameters. */
const urlParamsIssue = (endpoint: { readonly urlParamsSchema: Option.Option<Schema.Schema<any, any>> }, value: unknown) => {
  const decoded = Schema.decodeUnknownEither(Option.getOrThrow(endpoint.urlParamsSchema))(value)
  return Either.isLeft(decoded) ? ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0] : undefined
}

describe("ContreeApi: the one definition", () => {
  it("defines both generations' wire operations, the older lookups and the slashless redirects", () => {
    const defined = [...routes(), `${operationEvents.method} ${operationEvents.path}`]
    assert.deepStrictEqual(defined.sort(), [
      "DELETE /images/:uuid/tag",
      "DELETE /operations/:uuid",
      "DELETE /operations/:uuid/subprocesses/:spid",
      "GET /files",
      "GET /files/:sha256",
      "GET /images",
      "GET /inspect",
      "GET /inspect/",
      "GET /inspect/:uuid",
      "GET /inspect/:uuid/",
      "GET /inspect/:uuid/archive",
      "GET /inspect/:uuid/download",
      "GET /inspect/:uuid/grep",
      "GET /inspect/:uuid/list",
      "GET /operations",
      "GET /operations/:uuid",
      "GET /operations/:uuid/events",
      "GET /operations/:uuid/subprocesses/:spid",
      "GET /whoami",
      "HEAD /files",
      "HEAD /files/:sha256",
      "HEAD /inspect/:uuid/archive",
      "HEAD /inspect/:uuid/download",
      "PATCH /images/:uuid/tag",
      "POST /files",
      "POST /images/import",
      "POST /instances",
      "POST /operations/:uuid/subprocesses",
      "POST /operations/:uuid/subprocesses/:spid/stdin"
    ])
  })

  it("is a complete HttpApi: an OpenAPI document can be generated from it", () => {
    const spec = OpenApi.fromApi(Api.ContreeApi)
    assert.isDefined(spec.paths["/images/{uuid}/tag"]?.patch)
    assert.isDefined(spec.paths["/inspect/{uuid}/grep"]?.get)
  })

  it("derives a request: method, percent-encoded path, query encoded by the schema, JSON body", () => {
    const tag = endpointRequest(Api.tagImage, { path: { uuid: "a/b c" }, payload: { tag: "team/base:v1" } })
    assert.deepStrictEqual(tag.call, { method: "PATCH", path: "/images/a%2Fb%20c/tag" })
    assert.strictEqual(tag.request.url, "/images/a%2Fb%20c/tag")
    assert.deepStrictEqual(tag.request.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(tag.request.body.body)) : undefined, {
      tag: "team/base:v1"
    })
    const list = endpointRequest(Api.listImages, {
      urlParams: { limit: 5, offset: 0, tagged: true, tag: "busy", since: undefined, until: undefined }
    })
    assert.deepStrictEqual(Object.fromEntries(list.request.urlParams), { limit: "5", offset: "0", tag: "busy", tagged: "1" })
  })

  it("sends a required parameter as given, and refuses it where it is received, naming it", () => {
    const sent = endpointRequest(Api.resolveTag, { urlParams: { tag: "" } })
    assert.deepStrictEqual(sent.request.urlParams, [["tag", ""]])
    assert.deepInclude(urlParamsIssue(Api.resolveTag, { tag: "" }), { message: "tag is required" })
    assert.deepInclude(urlParamsIssue(Api.resolveTag, {}), { _tag: "Missing", path: ["tag"] })
    assert.deepInclude(urlParamsIssue(Api.listOperations, { status: "DONE" }), {
      message: "status must be one of PENDING, ASSIGNED, EXECUTING, SUCCESS, FAILED, CANCELLED; got \"DONE\""
    })
    assert.deepInclude(urlParamsIssue(Api.listImages, { tagged: "maybe" }), { message: "tagged must be one of 1, 0, true, false; got \"maybe\"" })
  })

  it("leaves page bounds for the server to judge, and takes its defaults when absent", () => {
    const decode = Schema.decodeUnknownSync(Option.getOrThrow(Api.listImages.urlParamsSchema))
    assert.deepStrictEqual(decode({}), { limit: 100, offset: 0 })
    const odd = decode({ limit: "", offset: "x" })
    assert.isTrue(Number.isNaN(odd.limit) && Number.isNaN(odd.offset))
  })

  it("decodes the answers of both generations with the endpoints' schemas", () => {
    const operations = Schema.decodeUnknownSync(successSchema(Api.listOperations))
    const summary = { uuid: "op-1", kind: "INSTANCE", status: "SUCCESS" }
    assert.strictEqual(Array.isArray(operations([summary])), true)
    assert.strictEqual("operations" in operations({ operations: [summary] }), true)
  })

  it("says what HttpApi cannot: the error body under any status, Locations", () => {
    assert.deepStrictEqual(encodeErrorBody(409, "operation is not cancellable"), { error: "operation is not cancellable", status: 409 })
    assert.strictEqual(errorMessage(404, JSON.stringify({ error: "Image not found", status: 404 })), "Image not found")
    assert.strictEqual(errorMessage(502, "<html>bad gateway</html>"), "<html>bad gateway</html>")
    assert.strictEqual(errorMessage(500, ""), "HTTP 500")
    assert.strictEqual(idFromLocation("/v1/operations/op-7/"), "op-7")
    assert.strictEqual(idFromLocation(undefined), "")
    assert.strictEqual(tagLocation("a b"), "a%20b/")
  })
})
