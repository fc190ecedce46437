import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeCredentialFile } from "../../src/layers/RegistryCredentialFile.js"

const TOKEN = "pat-SECRET-9d1c2b3a4f"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "contree-creds-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const mode = (path: string) => statSync(path).mode & 0o777
const credentials = (username: string, token = TOKEN) => ({ username, token: Redacted.make(token) })
const tokenOf = (found: Option.Option<{ readonly token: Redacted.Redacted<string> }>) =>
  Option.getOrUndefined(Option.map(found, (c) => Redacted.value(c.token)))

describe("the registry credential file", () => {
  it.scoped("is created with mode 0600 in a new directory with mode 0700, and reads back", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "config", "contree", "registry-credentials.json")
      const store = yield* makeCredentialFile(path)
      assert.isTrue(Option.isNone(yield* store.get("ghcr.io")))
      yield* store.put("ghcr.io", credentials("octocat"))
      assert.strictEqual(mode(path), 0o600)
      assert.strictEqual(mode(join(dir, "config", "contree")), 0o700)
      assert.strictEqual(mode(join(dir, "config")), 0o700)
      const found = yield* store.get("ghcr.io")
      assert.strictEqual(Option.getOrThrow(found).username, "octocat")
      assert.strictEqual(tokenOf(found), TOKEN)
      const json = JSON.parse(readFileSync(path, "utf8"))
      assert.deepStrictEqual(json.registries["ghcr.io"].scopes, ["pull"])
      assert.isString(json.registries["ghcr.io"].created_at)
      assert.isFalse(Number.isNaN(Date.parse(json.registries["ghcr.io"].created_at)))
    }))

  it.scoped("replaces a looser existing file by rename: the result is 0600 and no temporary file is left", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "creds.json")
      writeFileSync(path, JSON.stringify({ registries: {} }))
      chmodSync(path, 0o644)
      const inodeBefore = statSync(path).ino
      const store = yield* makeCredentialFile(path)
      yield* store.put("docker.io", credentials("me"))
      assert.strictEqual(mode(path), 0o600)
      // A new inode: the file was replaced, not rewritten in place.
      assert.notStrictEqual(statSync(path).ino, inodeBefore)
      assert.deepStrictEqual(readdirSync(dir), ["creds.json"])
    }))

  it.scoped("keeps other registries, unknown fields and entries; replaces and removes only the one asked for", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "creds.json")
      writeFileSync(path, JSON.stringify({ comment: "mine", registries: { "quay.io": { username: "q", token: "qt", extra: 1 } } }), { mode: 0o600 })
      const store = yield* makeCredentialFile(path)
      yield* store.put("ghcr.io", credentials("first", "t1"))
      yield* store.put("ghcr.io", credentials("second", "t2"))
      assert.strictEqual(tokenOf(yield* store.get("ghcr.io")), "t2")
      assert.strictEqual(Option.getOrThrow(yield* store.get("ghcr.io")).username, "second")
      yield* store.remove("ghcr.io")
      assert.isTrue(Option.isNone(yield* store.get("ghcr.io")))
      const json = JSON.parse(readFileSync(path, "utf8"))
      assert.deepStrictEqual(json, { comment: "mine", registries: { "quay.io": { username: "q", token: "qt", extra: 1 } } })
    }))

  it.scoped("serializes concurrent writes, so none is lost", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "creds.json")
      const store = yield* makeCredentialFile(path)
      const registries = Array.from({ length: 8 }, (_, i) => `r${i}.example.com`)
      yield* Effect.forEach(registries, (registry) => store.put(registry, credentials(registry)), { concurrency: "unbounded" })
      for (const registry of registries) assert.strictEqual(Option.getOrThrow(yield* store.get(registry)).username, registry)
    }))

  it.scoped("leaves the old file intact when the new one cannot be written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // A name the file system accepts, but too long once the temporary file's prefix and suffix
      // are added: writing fails before anything is renamed (and this works even as root).
      const path = join(dir, "c".repeat(240))
      const before = JSON.stringify({ registries: { "ghcr.io": { username: "kept", token: "old-token" } } })
      writeFileSync(path, before, { mode: 0o600 })
      const store = yield* makeCredentialFile(path)
      const error = yield* Effect.flip(store.put("ghcr.io", credentials("new", TOKEN)))
      assert.strictEqual(error.reason, "Store")
      assert.include(error.message, "cannot create a temporary file")
      assert.include(error.message, dir)
      assert.notInclude(error.message, TOKEN)
      assert.strictEqual(readFileSync(path, "utf8"), before)
      assert.deepStrictEqual(readdirSync(dir), ["c".repeat(240)])
      assert.strictEqual(tokenOf(yield* store.get("ghcr.io")), "old-token")
    }))

  it.scoped("reports a corrupt file by its path, never by its content", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "creds.json")
      // Not JSON, and the token right where a parser would quote it from.
      writeFileSync(path, `{"registries": {"ghcr.io": {"username": "u", "token": ${TOKEN}}}}`, { mode: 0o600 })
      const store = yield* makeCredentialFile(path)
      for (const error of [yield* Effect.flip(store.get("ghcr.io")), yield* Effect.flip(store.put("ghcr.io", credentials("u")))]) {
        assert.strictEqual(error.reason, "Store")
        assert.include(error.message, path)
        assert.include(error.message, "not in the expected JSON format")
        assert.notInclude(error.message, TOKEN)
        assert.notInclude(JSON.stringify(error), TOKEN)
      }
      // Nothing was overwritten.
      assert.include(readFileSync(path, "utf8"), TOKEN)
    }))

  it.scoped("ignores an entry of the wrong shape instead of failing every registry", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "creds.json")
      writeFileSync(path, JSON.stringify({ registries: { "ghcr.io": { username: "u", token: 42 }, "quay.io": { username: "q", token: "t" } } }))
      const store = yield* makeCredentialFile(path)
      assert.isTrue(Option.isNone(yield* store.get("ghcr.io")))
      assert.strictEqual(tokenOf(yield* store.get("quay.io")), "t")
    }))

  it.scoped("shows the token as <redacted> when the credentials are printed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      mkdirSync(join(dir, "x"))
      const store = yield* makeCredentialFile(join(dir, "x", "creds.json"))
      yield* store.put("ghcr.io", credentials("u"))
      const found = Option.getOrThrow(yield* store.get("ghcr.io"))
      assert.notInclude(String(found.token), TOKEN)
      assert.notInclude(JSON.stringify(found), TOKEN)
    }))
})
