// RegistrySource against a real registry (Debian's docker-registry on loopback): anonymous and
// token-authenticated pulls, an index followed to the host's platform, pulls by digest, a 404
// that names the image, and blob redirects to another host that must not see the token.
import { FetchHttpClient } from "@effect/platform"
import { Effect, Either, Option, Redacted, Stream } from "effect"
import { createReadStream, existsSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseRegistryUrl } from "../../../src/domain/RegistryUrl.js"
import type { LocalEngineError } from "../../../src/local/LocalEngineError.js"
import type { ImageSource } from "../../../src/local/oci/ImageSource.js"
import { hostPlatform, type Platform } from "../../../src/local/oci/Manifest.js"
import { registrySource } from "../../../src/local/oci/RegistrySource.js"
import type { RegistryCredentials } from "../../../src/services/RegistryAuth.js"
import { RetryPolicy } from "../../../src/services/RetryPolicy.js"
import { blobGets, DOCKER_REGISTRY, type DockerRegistry, startDockerRegistry } from "../../support/dockerRegistry.js"
import { fastPolicy } from "../../support/http.js"
import { opaque, type PushedImage, pushImage, pushIndex, sha256, tarLayer, whiteout } from "../../support/ociPush.js"
import { startTokenServer, type TokenServer } from "../../support/tokenServer.js"

const describeRegistry = existsSync(DOCKER_REGISTRY) ? describe : describe.skip

const USER = "puller"
const PASSWORD = "pat-SECRET-0f1e2d3c4b5a"
const good: RegistryCredentials = { username: USER, token: Redacted.make(PASSWORD) }
const wrong: RegistryCredentials = { username: USER, token: Redacted.make(`${PASSWORD}-wrong`) }

/** A platform that is not this host's, for the other half of an index. */
const otherPlatform: Platform = hostPlatform().architecture === "s390x"
  ? { os: "linux", architecture: "amd64" }
  : { os: "linux", architecture: "s390x" }

let open: DockerRegistry
let guarded: DockerRegistry
let tokens: TokenServer
let storage: Server
/** Authorization headers that reached the storage host, one per request. */
const storageAuthorizations: Array<string | undefined> = []
let plain: PushedImage
let hostImage: PushedImage
let otherImage: PushedImage
let privateImage: PushedImage

const source = (url: string, credentials: Option.Option<RegistryCredentials> = Option.none()) =>
  Effect.runPromise(
    registrySource({ reference: Either.getOrThrow(parseRegistryUrl(url)), credentials, insecureRegistries: [] }).pipe(
      Effect.provide(FetchHttpClient.layer),
      Effect.provideService(RetryPolicy, fastPolicy())
    )
  )

const resolve = (s: ImageSource) => Effect.runPromise(s.resolve)
const failure = async (s: ImageSource): Promise<LocalEngineError> => Effect.runPromise(Effect.flip(s.resolve))
const blobBytes = (s: ImageSource, digest: string, size: number) =>
  Effect.runPromise(
    Stream.runCollect(s.blob({ mediaType: "", digest, size })).pipe(Effect.map((chunks) => Buffer.concat([...chunks])))
  )

beforeAll(async () => {
  if (!existsSync(DOCKER_REGISTRY)) return
  // Serves the guarded registry's storage directory to the redirects it sends, recording what arrives.
  storage = createServer((request, response) => {
    storageAuthorizations.push(request.headers.authorization)
    const path = join(guarded.storageDir, decodeURIComponent(new URL(request.url ?? "/", "http://storage").pathname))
    if (!path.startsWith(guarded.storageDir) || !existsSync(path)) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { "content-type": "application/octet-stream" })
    createReadStream(path).pipe(response)
  })
  await new Promise<void>((done) => storage.listen(0, "127.0.0.1", done))
  const storagePort = (storage.address() as AddressInfo).port

  tokens = await startTokenServer({ users: { [USER]: PASSWORD } })
  ;[open, guarded] = await Promise.all([
    startDockerRegistry(),
    // `localhost`, not 127.0.0.1: another host, so the token must not follow the redirect there.
    startDockerRegistry({ token: tokens.auth, redirectTo: `http://localhost:${storagePort}` })
  ])

  const files = await tarLayer([
    { type: "directory", path: "etc" },
    { type: "file", path: "etc/greeting", content: "hello\n" },
    { type: "directory", path: "cache" },
    { type: "file", path: "cache/old", content: "old\n" },
    { type: "file", path: "gone", content: "soon deleted\n" }
  ])
  const changes = await tarLayer([opaque("cache"), { type: "file", path: "cache/new", content: "new\n" }, whiteout("gone")])
  plain = await pushImage({ host: open.host }, "test/app", {
    format: "oci",
    tag: "v1",
    layers: [{ tar: files, gzip: true }, { tar: changes, gzip: false }]
  })
  hostImage = await pushImage({ host: open.host }, "test/multi", { format: "docker", platform: hostPlatform(), layers: [{ tar: files, gzip: true }] })
  otherImage = await pushImage({ host: open.host }, "test/multi", { format: "docker", platform: otherPlatform, layers: [{ tar: changes, gzip: true }] })
  await pushIndex({ host: open.host }, "test/multi", "latest", "docker", [
    { image: otherImage, platform: otherPlatform },
    { image: hostImage, platform: hostPlatform() }
  ])
  privateImage = await pushImage({ host: guarded.host, credentials: { username: USER, password: PASSWORD } }, "team/private", {
    format: "oci",
    tag: "1.0",
    layers: [{ tar: files, gzip: true }]
  })
})

afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close(), tokens?.close()])
  await new Promise<void>((done) => (storage === undefined ? done() : storage.close(() => done())))
})

describeRegistry("RegistrySource against docker-registry, anonymous", () => {
  it("resolves a tag to its manifest, config and layers, and streams blobs that hash to their digests", async () => {
    const s = await source(`${open.host}/test/app:v1`)
    expect(s.name).toBe(`${open.host}/test/app:v1`)
    const image = await resolve(s)
    expect(image.manifestDigest).toBe(plain.manifest.digest)
    expect(image.config).toMatchObject(plain.config)
    expect(image.layers.map((l) => [l.digest, l.size, l.mediaType])).toEqual([
      [plain.layers[0]!.digest, plain.layers[0]!.size, "application/vnd.oci.image.layer.v1.tar+gzip"],
      [plain.layers[1]!.digest, plain.layers[1]!.size, "application/vnd.oci.image.layer.v1.tar"]
    ])
    for (const layer of image.layers) {
      const bytes = await blobBytes(s, layer.digest, layer.size)
      expect(bytes.length).toBe(layer.size)
      expect(sha256(bytes)).toBe(layer.digest)
    }
  })

  it("takes a bare scheme-prefixed URL the same way", async () => {
    const image = await resolve(await source(`docker://${open.host}/test/app:v1`))
    expect(image.manifestDigest).toBe(plain.manifest.digest)
  })

  it("follows a Docker manifest list to the host's platform", async () => {
    const image = await resolve(await source(`${open.host}/test/multi`))
    expect(image.manifestDigest).toBe(hostImage.manifest.digest)
    expect(image.layers.map((l) => l.digest)).toEqual(hostImage.layers.map((l) => l.digest))
  })

  it("pulls by digest, the index's or an image manifest's", async () => {
    const byImage = await resolve(await source(`${open.host}/test/multi@${otherImage.manifest.digest}`))
    expect(byImage.manifestDigest).toBe(otherImage.manifest.digest)
    const byApp = await resolve(await source(`oci://${open.host}/test/app@${plain.manifest.digest}`))
    expect(byApp.layers).toHaveLength(2)
  })

  it("says which image is missing: an unknown repository or tag is NotFound", async () => {
    const missingTag = await failure(await source(`${open.host}/test/app:nope`))
    expect(missingTag.reason).toBe("NotFound")
    expect(missingTag.message).toContain(`${open.host}/test/app:nope`)
    expect(missingTag.message).toContain("MANIFEST_UNKNOWN")
    const missingRepo = await failure(await source(`${open.host}/no/such:v1`))
    expect(missingRepo.reason).toBe("NotFound")
    expect(missingRepo.message).toContain(`${open.host}/no/such:v1`)
    const missingDigest = await failure(await source(`${open.host}/test/app@sha256:${"0".repeat(64)}`))
    expect(missingDigest.reason).toBe("NotFound")
  })
})

describeRegistry("RegistrySource against docker-registry with token auth", () => {
  it("pulls with the right credentials: a token for repository:NAME:pull, asked with Basic", async () => {
    const before = tokens.requests.length
    const s = await source(`${guarded.host}/team/private:1.0`, Option.some(good))
    const image = await resolve(s)
    expect(image.manifestDigest).toBe(privateImage.manifest.digest)
    const layer = image.layers[0]!
    expect(sha256(await blobBytes(s, layer.digest, layer.size))).toBe(layer.digest)
    const asked = tokens.requests.slice(before)
    // One token for the whole import: the manifest and the blob reuse it.
    expect(asked).toEqual([{ username: USER, scopes: ["repository:team/private:pull"], status: 200 }])
  })

  it("follows blob redirects to the storage host without sending it the token", async () => {
    const s = await source(`${guarded.host}/team/private:1.0`, Option.some(good))
    const layer = (await resolve(s)).layers[0]!
    const before = storageAuthorizations.length
    const gets = blobGets(guarded).length
    expect(sha256(await blobBytes(s, layer.digest, layer.size))).toBe(layer.digest)
    expect(blobGets(guarded).length).toBe(gets + 1)
    expect(blobGets(guarded).at(-1)!.status).toBe(307)
    expect(storageAuthorizations.slice(before)).toEqual([undefined])
  })

  it("refuses wrong credentials, saying to run contree_registry_auth, without echoing them", async () => {
    const error = await failure(await source(`${guarded.host}/team/private:1.0`, Option.some(wrong)))
    expect(error.reason).toBe("InvalidRequest")
    expect(error.message).toContain("contree_registry_auth")
    expect(error.message).toContain("401")
    for (const secret of [PASSWORD, Buffer.from(`${USER}:${PASSWORD}-wrong`).toString("base64"), ...tokens.issued]) {
      expect(JSON.stringify(error)).not.toContain(secret)
    }
  })

  it("without credentials, the anonymous token is not enough: the error says to log in", async () => {
    const error = await failure(await source(`${guarded.host}/team/private:1.0`))
    expect(error.reason).toBe("InvalidRequest")
    expect(error.message).toContain(`run contree_registry_auth for ${guarded.host}`)
    for (const secret of tokens.issued) expect(JSON.stringify(error)).not.toContain(secret)
  })
})
