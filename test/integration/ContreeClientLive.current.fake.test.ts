/** The live client over real HTTP against a fake of the current generation only: what the lead's tools build on. */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Redacted, Stream } from "effect"
import { createHash } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import { ContreeClientLive } from "../../src/layers/ContreeClientLive.js"
import { ContreeClient } from "../../src/services/ContreeClient.js"
import { ContreeConfig } from "../../src/services/ContreeConfig.js"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { config } from "../support/http.js"

let fake: FakeContreeApi
let image: string
beforeAll(async () => {
  fake = await startFakeContreeApi({ generation: "current", gzip: true, pendingMs: 0, executingMs: 0 })
  image = fake.addImage({ files: { "/etc/hosts": "127.0.0.1 localhost\n", "/etc/motd": "hello world\n", "/srv/data.txt": "hello data\n" } })
})
afterAll(() => fake.close())

const client = () =>
  ContreeClientLive.pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Layer.succeed(ContreeConfig, config({ url: fake.url, token: Option.some(Redacted.make(fake.token)) })))
  )

const grepQuery = { patterns: ["hello"], paths: [], globs: [], maxTotal: 1000, case: "smart" as const, before: 0, after: 0 }

describe("ContreeClientLive against the current generation only", () => {
  it.effect("whoami, grep and downloadArchive answer", () =>
    Effect.gen(function*() {
      const c = yield* ContreeClient
      const me = yield* c.whoami
      assert.deepStrictEqual(Object.keys(me).sort(), ["limits", "operations_stat", "permissions", "token_expiration", "token_uuid"])
      const found = yield* c.grep(image, { ...grepQuery, paths: ["/etc", "/srv"], globs: ["!*.txt"] })
      assert.deepStrictEqual(found.matches.map((m) => m.path), ["/etc/motd"])
      assert.isFalse(found.truncated)
      const tar = Buffer.concat(Chunk.toReadonlyArray(yield* Stream.runCollect(c.downloadArchive(image, "/etc"))))
      assert.include(tar.toString("latin1"), "etc/hosts")
    }).pipe(Effect.provide(client())))

  it.effect("uploads are found by hash, lists and listings read the newer fields", () =>
    Effect.gen(function*() {
      const c = yield* ContreeClient
      const bytes = new TextEncoder().encode("current payload")
      const sha = createHash("sha256").update(bytes).digest("hex")
      assert.isTrue(Option.isNone(yield* c.findFileByHash(sha)))
      const uploaded = yield* c.uploadFile({ _tag: "Bytes", bytes })
      assert.deepStrictEqual(yield* c.findFileByHash(sha), Option.some(uploaded))
      assert.isTrue(yield* c.fileHashExists(sha))
      const listing = yield* c.listDirectory(image, "/etc")
      assert.deepStrictEqual(listing.files.map((f) => [f.path, f.uid, f.gid, f.nlink]), [["hosts", 0, 0, 1], ["motd", 0, 0, 1]])
      const ops = yield* c.listOperations({ limit: 10, offset: 0 })
      assert.isArray(ops)
    }).pipe(Effect.provide(client())))
})
