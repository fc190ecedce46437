import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Redacted, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ContreeClientLive } from "../../src/layers/ContreeClientLive.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeConfig } from "../../src/services/ContreeConfig.js"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { spawnRequest } from "../support/fixtures.js"

// The real HTTP stack (fetch) against the fake API with every response gzipped: decompression,
// the relative 302 of tag resolution and streamed downloads all go through the live client.
let fake: FakeContreeApi
beforeAll(async () => {
  fake = await startFakeContreeApi({ gzip: true, pendingMs: 0, executingMs: 0 })
})
afterAll(() => fake.close())

const client = () =>
  ContreeClientLive.pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Layer.succeed(ContreeConfig, {
      url: `${fake.url}/`,
      token: Option.some(Redacted.make(fake.token)),
      project: Option.none(),
      mode: "stdio",
      logLevel: "warning",
      httpListen: "127.0.0.1",
      httpPort: 0,
      cacheFiles: ":memory:",
      cacheGeneral: ":memory:",
      cachePruneDays: 0,
      registryCredentials: ":none:",
      insecureRegistries: [],
      backend: "cloud",
      dataDir: ":memory:",
      network: "off"
    }))
  )

describe("ContreeClientLive against the fake API (gzip)", () => {
  it.live("lists images and resolves a tag through the redirect", () =>
    Effect.gen(function*() {
      const api = yield* ContreeClient
      const images = yield* api.listImages({ limit: 10, offset: 0 })
      const busybox = images.find((image) => image.tag === "busybox:latest")
      assert.isDefined(busybox)
      const resolved = yield* api.resolveTag("busybox:latest")
      assert.strictEqual(resolved.uuid, busybox!.uuid)
    }).pipe(Effect.provide(client())))

  it.live("streams a download and reports a missing file as NotFound", () =>
    Effect.gen(function*() {
      const api = yield* ContreeClient
      const { uuid } = yield* api.resolveTag("busybox:latest")
      const chunks = yield* Stream.runCollect(api.downloadFile(uuid, "/etc/os-release"))
      const text = Buffer.concat(Chunk.toArray(chunks)).toString("utf8")
      assert.include(text, "BusyBox")
      const missing = yield* Effect.flip(api.readFile(uuid, "/no/such/file"))
      assert.strictEqual(missing.reason, "NotFound")
      assert.strictEqual(missing.status, 404)
    }).pipe(Effect.provide(client())))

  it.live("spawns, polls to the end and decodes the result", () =>
    Effect.gen(function*() {
      const api = yield* ContreeClient
      const { uuid } = yield* api.resolveTag("busybox:latest")
      const id = yield* api.spawnInstance(spawnRequest(uuid, "echo hello", { timeout: 10, truncate_output_at: 1000 }))
      let op = yield* api.getOperation(id)
      while (!op.isTerminal) op = yield* Effect.zipRight(Effect.sleep("20 millis"), api.getOperation(id))
      assert.strictEqual(op.status, "SUCCESS")
      assert.strictEqual(op.instance?.result?.stdout.value, "hello\n")
    }).pipe(Effect.provide(client())))
})
