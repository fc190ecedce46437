import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { imageUser, resolveUser } from "../../../src/local/images/ImageUser.js"
import { LayerStack } from "../../../src/local/images/LayerStack.js"
import type { LocalEngineError } from "../../../src/local/LocalEngineError.js"

const files = {
  passwd: [
    "root:x:0:0:root:/root:/bin/sh",
    "# a comment:x:9:9::/:",
    "app:x:1000:1000:App:/home/app:/bin/sh",
    "svc:x:1001:2000::/srv:/bin/sh",
    "nohome:x:1002:1002:::/bin/sh",
    ""
  ].join("\n"),
  group: [
    "root:x:0:",
    "app:x:1000:",
    "staff:x:50:app,svc",
    "wheel:x:10:app",
    "svcgroup:x:2000:",
    ""
  ].join("\n")
}

const failure = (exit: Exit.Exit<unknown, LocalEngineError>): string => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.strictEqual(error?.reason, "InvalidRequest")
  return error!.message
}

describe("resolveUser", () => {
  it.effect("resolves a name with its primary group, home and the groups that list it", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* resolveUser("app", files), { uid: 1000, gid: 1000, groups: [50, 10], home: "/home/app" })
      assert.deepStrictEqual(yield* resolveUser("svc", files), { uid: 1001, gid: 2000, groups: [50], home: "/srv" })
      assert.deepStrictEqual(yield* resolveUser("nohome", files), { uid: 1002, gid: 1002, groups: [], home: "/" })
    }))

  it.effect("takes ids as they are, known to the image or not", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* resolveUser("1000:1000", files), { uid: 1000, gid: 1000, groups: [50, 10], home: "/home/app" })
      assert.deepStrictEqual(yield* resolveUser("1001", files), { uid: 1001, gid: 2000, groups: [50], home: "/srv" })
      assert.deepStrictEqual(yield* resolveUser("4242", files), { uid: 4242, gid: 0, groups: [], home: "/" })
      assert.deepStrictEqual(yield* resolveUser("4242:77", { passwd: "", group: "" }), { uid: 4242, gid: 77, groups: [], home: "/" })
    }))

  it.effect("lets `user:group` name the group, by name or id", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* resolveUser("app:staff", files), { uid: 1000, gid: 50, groups: [10], home: "/home/app" })
      assert.deepStrictEqual(yield* resolveUser("app:3000", files), { uid: 1000, gid: 3000, groups: [50, 10], home: "/home/app" })
      assert.deepStrictEqual(yield* resolveUser("0:wheel", files), { uid: 0, gid: 10, groups: [], home: "/root" })
    }))

  it.effect("refuses names the image does not have, naming its User", () =>
    Effect.gen(function*() {
      const user = failure(yield* Effect.exit(resolveUser("nobody", files)))
      assert.include(user, "the image's User \"nobody\"")
      assert.include(user, "/etc/passwd has no user \"nobody\"")
      const group = failure(yield* Effect.exit(resolveUser("app:docker", files)))
      assert.include(group, "the image's User \"app:docker\"")
      assert.include(group, "/etc/group has no group \"docker\"")
      assert.include(failure(yield* Effect.exit(resolveUser("app:", files))), "empty")
      // A commented line is no account.
      assert.include(failure(yield* Effect.exit(resolveUser("# a comment", files))), "has no user")
    }))
})

describe("imageUser", () => {
  const root = mkdtempSync(join(tmpdir(), "contree-user-"))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const stack = (entries: Record<string, string>, links: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(root, "layer-"))
    mkdirSync(join(dir, "etc"))
    for (const [path, content] of Object.entries(entries)) writeFileSync(join(dir, path), content)
    for (const [path, target] of Object.entries(links)) symlinkSync(target, join(dir, path))
    return new LayerStack([{ dir, opaque: new Set() }])
  }
  const wide = { uid: 100000, gid: 100000, count: 65536 }

  it.effect("reads the image's own account files, following their symlinks inside the image", () =>
    Effect.gen(function*() {
      const image = stack({ "etc/real-passwd": files.passwd, "etc/group": files.group }, { "etc/passwd": "/etc/real-passwd" })
      assert.deepStrictEqual(yield* imageUser(image, "svc", wide), { uid: 1001, gid: 2000, groups: [50], home: "/srv" })
      // Without the files, ids still work and names do not.
      const bare = stack({})
      assert.deepStrictEqual(yield* imageUser(bare, "1000:1000", wide), { uid: 1000, gid: 1000, groups: [], home: "/" })
      assert.include(failure(yield* Effect.exit(imageUser(bare, "app", wide))), "has no user \"app\"")
    }))

  it.effect("refuses ids the sandbox does not map", () =>
    Effect.gen(function*() {
      const image = stack({ "etc/passwd": files.passwd, "etc/group": files.group })
      const single = { uid: 1000, gid: 1000, count: 1 }
      assert.deepStrictEqual(yield* imageUser(image, "root", single), { uid: 0, gid: 0, groups: [], home: "/root" })
      assert.include(failure(yield* Effect.exit(imageUser(image, "app", single))), "maps ids 0-0 only")
      assert.include(failure(yield* Effect.exit(imageUser(image, "70000", wide))), "maps ids 0-65535 only")
    }))
})
