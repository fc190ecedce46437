// Registry import on the local engine end to end, both in process (`--backend local`) and through
// `contree-mcp serve` (`--backend cloud`), driven over stdio by the SDK client, pulling from two
// real docker-registry instances on loopback, one open and one behind a token service. The imported images run in real sandboxes;
// a second import of the same image transfers no blob (read from the registries' access logs);
// the registry password and its tokens never reach the client or the server's stderr.
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hostPlatform, type Platform } from "../../src/local/oci/Manifest.js"
import { blobGets, DOCKER_REGISTRY, type DockerRegistry, startDockerRegistry } from "../support/dockerRegistry.js"
import { opaque, type PushedImage, pushImage, pushIndex, tarLayer, type TestLayer, whiteout } from "../support/ociPush.js"
import { startTokenServer, type TokenServer } from "../support/tokenServer.js"
import { callOk, callTool, type Connected, engineBackends } from "./harness.js"

const runnable = spawnSync("bwrap", ["--version"]).status === 0 && existsSync(DOCKER_REGISTRY) && existsSync("/bin/busybox")
const describeRunnable = runnable ? describe : describe.skip

const USER = "e2e-puller"
const PASSWORD = "pat-SECRET-e2e-4d3c2b1a"
const otherPlatform: Platform = hostPlatform().architecture === "s390x" ? { os: "linux", architecture: "amd64" } : { os: "linux", architecture: "s390x" }

let open: DockerRegistry
let guarded: DockerRegistry
let tokens: TokenServer
let dataDir: string
let server: Connected
let openImage: PushedImage
let privateImage: PushedImage
/** Every result and log notification the client saw. */
const seen: Array<string> = []

const call = (name: string, args: Record<string, unknown>) => callTool(server.client, name, args, seen)
const ok = (name: string, args: Record<string, unknown>) => callOk(server.client, name, args, seen)

/** A root filesystem the sandbox can run: the host's static busybox as /bin/sh, and a few files. */
const baseLayer = async (): Promise<TestLayer> => ({
  gzip: true,
  tar: await tarLayer([
    { type: "directory", path: "bin" },
    { type: "file", path: "bin/busybox", content: readFileSync("/bin/busybox"), mode: 0o755 },
    ...["sh", "cat", "ls", "test"].map((applet) => ({ type: "symlink" as const, path: `bin/${applet}`, target: "busybox" })),
    { type: "directory", path: "etc" },
    { type: "file", path: "etc/greeting", content: "hello from the registry\n" },
    { type: "directory", path: "cache" },
    { type: "file", path: "cache/old", content: "old\n" },
    { type: "file", path: "gone", content: "deleted above\n" }
  ])
})

const changes = async (gzip: boolean): Promise<TestLayer> => ({
  gzip,
  tar: await tarLayer([opaque("cache"), { type: "file", path: "cache/new", content: "new\n" }, whiteout("gone")])
})

/** Runs the checks every imported image must pass: its files, with the upper layer's whiteout and opaque dir applied. */
const expectLayersApplied = async (image: string) => {
  const run = await ok("contree_run", { image, command: "cat /etc/greeting; ls /cache; test -e /gone && echo still-there; echo done" })
  expect(run).toMatchObject({ status: "SUCCESS", exit_code: 0, stdout: "hello from the registry\nnew\ndone\n" })
}

for (const backend of engineBackends) {
  describeRunnable(`contree_import_image from real registries, ${backend.name}`, () => {
    let stop: () => Promise<void> = async () => undefined

    beforeAll(async () => {
      seen.length = 0
      tokens = await startTokenServer({ users: { [USER]: PASSWORD } })
      ;[open, guarded] = await Promise.all([startDockerRegistry(), startDockerRegistry({ token: tokens.auth })])
      const base = await baseLayer()
      openImage = await pushImage({ host: open.host }, "e2e/app", { format: "oci", tag: "v1", layers: [base, await changes(false)] })
      const pusher = { host: guarded.host, credentials: { username: USER, password: PASSWORD } }
      privateImage = await pushImage(pusher, "team/private", { format: "docker", platform: hostPlatform(), layers: [base, await changes(true)] })
      const foreign = await pushImage(pusher, "team/private", { format: "docker", platform: otherPlatform, layers: [await changes(true)] })
      await pushIndex(pusher, "team/private", "1.0", "docker", [
        { image: foreign, platform: otherPlatform },
        { image: privateImage, platform: hostPlatform() }
      ])
      dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-registry-"))
      ;({ server, stop } = await backend.connect(dataDir))
      server.client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        seen.push(JSON.stringify(notification))
      })
      await server.client.setLoggingLevel("debug")
    })

    afterAll(async () => {
      await stop()
      await Promise.all([open?.close(), guarded?.close(), tokens?.close()])
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
    })

    it("imports from an open registry anonymously (with consent), and the image runs", async () => {
      const imported = await ok("contree_import_image", {
        registry_url: `docker://${open.host}/e2e/app:v1`,
        i_accept_that_anonymous_access_might_be_rate_limited: true,
        tag: "e2e-app:v1"
      })
      expect(imported).toMatchObject({ status: "SUCCESS", result_image: expect.any(String) })
      await expectLayersApplied(imported.result_image)
      expect((await ok("contree_get_image", { image: "tag:e2e-app:v1" })).uuid).toBe(imported.result_image)
      // Both layers and the config were fetched once each.
      expect(blobGets(open).map((r) => r.path).sort()).toEqual(
        [...openImage.layers, openImage.config].map((blob) => `/v2/e2e/app/blobs/${blob.digest}`).sort()
      )
    })

    it("needs contree_registry_auth for the token registry; after it, imports the host's platform from the index", async () => {
      const refused = await call("contree_import_image", { registry_url: `${guarded.host}/team/private:1.0` })
      expect(refused.isError).toBe(true)
      expect(JSON.stringify(refused.content)).toContain("contree_registry_auth")
      // Anonymously, with consent: the registry itself refuses, and the error says what to do.
      const anonymous = await ok("contree_import_image", {
        registry_url: `${guarded.host}/team/private:1.0`,
        i_accept_that_anonymous_access_might_be_rate_limited: true
      })
      expect(anonymous).toMatchObject({ status: "FAILED", error: expect.stringContaining(`run contree_registry_auth for ${guarded.host}`) })

      const wrong = await ok("contree_registry_auth", { registry_url: guarded.host, username: USER, token: `${PASSWORD}-wrong` })
      expect(wrong).toMatchObject({ status: "error", message: expect.stringContaining("invalid") })
      const stillRefused = await call("contree_import_image", { registry_url: `${guarded.host}/team/private:1.0` })
      expect(stillRefused.isError).toBe(true)
      expect(await ok("contree_registry_auth", { registry_url: guarded.host, username: USER, token: PASSWORD })).toMatchObject({ status: "success" })

      const imported = await ok("contree_import_image", { registry_url: `${guarded.host}/team/private:1.0` })
      expect(imported).toMatchObject({ status: "SUCCESS", result_image: expect.any(String) })
      await expectLayersApplied(imported.result_image)
      // The base layer is the same blob as the open registry's, already in the store: not fetched again.
      expect(privateImage.layers[0]!.digest).toBe(openImage.layers[0]!.digest)
      expect(blobGets(guarded).map((r) => r.path).sort()).toEqual(
        [privateImage.layers[1]!, privateImage.config].map((blob) => `/v2/team/private/blobs/${blob.digest}`).sort()
      )
      // Tokens were asked for with the stored credentials and the repository's pull scope.
      expect(tokens.requests.filter((r) => r.scopes.includes("repository:team/private:pull") && r.status === 200)).not.toHaveLength(0)
    })

    it("importing the same images again gives the same images back without fetching a blob", async () => {
      const before = { open: blobGets(open).length, guarded: blobGets(guarded).length }
      const images = await ok("contree_list_images", {})
      const again = await ok("contree_import_image", {
        registry_url: `${open.host}/e2e/app@${openImage.manifest.digest}`,
        i_accept_that_anonymous_access_might_be_rate_limited: true
      })
      const first = (images.images as Array<{ uuid: string; tag: string | null }>).find((image) => image.tag === "e2e-app:v1")!
      expect(again).toMatchObject({ status: "SUCCESS", result_image: first.uuid })
      const privateAgain = await ok("contree_import_image", { registry_url: `docker://${guarded.host}/team/private:1.0` })
      expect(privateAgain.status).toBe("SUCCESS")
      expect({ open: blobGets(open).length, guarded: blobGets(guarded).length }).toEqual(before)
      expect((await ok("contree_list_images", {})).images).toHaveLength(images.images.length)
    })

    it("never shows the registry password or its tokens to the client or in the server's log", () => {
      const secrets = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString("base64"), ...tokens.issued]
      for (const secret of secrets) {
        for (const text of seen) expect(text).not.toContain(secret)
        expect(server.stderr()).not.toContain(secret)
      }
    })
  })
}
