import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { stageLayer } from "../../../src/local/images/LayerCommit.js"
import { LayerStack } from "../../../src/local/images/LayerStack.js"
import { parseOpaqueDirs } from "../../../src/local/images/OpaqueDirs.js"
import { LIST_OPAQUE_DIRS } from "../../../src/local/sandbox/SandboxScript.js"

/** Builds a layer directory from `path -> content` ("dir/" for a directory, "->target" for a symlink, null for a whiteout). */
const layer = (root: string, entries: Record<string, string | null>): string => {
  mkdirSync(root, { recursive: true })
  for (const [path, content] of Object.entries(entries)) {
    const target = join(root, path)
    mkdirSync(dirname(target), { recursive: true })
    if (content === null) execFileSync("mknod", [target, "c", "0", "0"])
    else if (path.endsWith("/")) mkdirSync(target, { recursive: true })
    else if (content.startsWith("->")) symlinkSync(content.slice(2), target)
    else writeFileSync(target, content)
  }
  return root
}

describe("LayerStack", () => {
  const base = mkdtempSync(join(tmpdir(), "contree-layers-"))
  afterAll(() => rmSync(base, { recursive: true, force: true }))
  const bottom = layer(join(base, "l1"), {
    "a/x": "1",
    "a/y": "1",
    "b/z": "1",
    c: "file",
    "d/deep/f": "1",
    link: "->/a",
    rel: "->a/../b"
  })
  const middle = layer(join(base, "l2"), { "a/x": null, "a/w": "2", "b/n": "2", "c/inner": "2", e: "2" })
  const top = layer(join(base, "l3"), { "a/y": "3", d: null, "b/n": null })
  // Top first; layer 2 made /b opaque: nothing of /b below it shows.
  const stack = new LayerStack([
    { dir: top, opaque: new Set() },
    { dir: middle, opaque: new Set(["b"]) },
    { dir: bottom, opaque: new Set() }
  ])
  const names = (path: string) => stack.list(stack.resolve(path, true)!).map((e) => e.name)
  const content = (path: string) => readFileSync(stack.resolve(path, true)!.hostPath, "utf8")

  it("merges directories top down, honouring whiteouts and opaque directories", () => {
    assert.deepStrictEqual(names("/"), ["a", "b", "c", "e", "link", "rel"])
    assert.deepStrictEqual(names("/a"), ["w", "y"])
    assert.deepStrictEqual(names("/b"), [])
    assert.deepStrictEqual(names("/c"), ["inner"])
    assert.strictEqual(content("/a/y"), "3")
    assert.strictEqual(content("/a/w"), "2")
    assert.isUndefined(stack.resolve("/a/x", true))
    assert.isUndefined(stack.resolve("/d/deep/f", true))
    assert.isUndefined(stack.resolve("/b/z", true))
    assert.deepStrictEqual(stack.resolve("/a", true)!.layers, [0, 1, 2])
    // What is a directory without an lstat per name: /c's top-most entry is one, /d's a whiteout, /link a symlink.
    assert.deepStrictEqual([...stack.directoryNames(stack.root())].sort(), ["a", "b", "c"])
    assert.deepStrictEqual([...stack.directoryNames(stack.resolve("/a", true)!)], [])
  })

  it("resolves symlinks inside the image, never on the host", () => {
    assert.strictEqual(content("/link/y"), "3")
    assert.strictEqual(stack.resolve("/link", true)!.path, "/a")
    assert.isTrue(stack.resolve("/link", false)!.stats.isSymbolicLink())
    assert.strictEqual(stack.resolve("/rel", true)!.path, "/b")
    assert.strictEqual(stack.resolve("/../../a/./y", true)!.path, "/a/y")
    assert.isUndefined(stack.resolve("/c/inner/more", true))
  })

  it("reads opaque directories from getfattr's output", () => {
    const output = "# file: a b/new\\012line\nuser.overlay.opaque=\"y\"\n\n# file: .\nuser.overlay.opaque=\"y\"\n\n" +
      "# file: back\\134slash\nuser.overlay.opaque=\"y\"\n\n# file: plain\nuser.overlay.opaque=\"n\"\n\n" +
      "# file: \xc3\xa9t\xc3\xa9\nuser.overlay.opaque=\"y\"\n"
    assert.deepStrictEqual(parseOpaqueDirs(output), ["a b/new\nline", "back\\slash", "été"])
  })

  it.effect("drops the mount points a sandbox created, and tells an unchanged upper dir from a changed one", () =>
    Effect.gen(function*() {
      const image = new LayerStack([{ dir: layer(join(base, "img"), { "etc/passwd": "root" }), opaque: new Set() }])
      const upper = layer(join(base, "upper"), { "proc/": "", "dev/": "" })
      execFileSync("chmod", ["--reference", join(base, "img"), upper])
      const listing = join(base, "opaque")
      assert.deepStrictEqual(yield* stageLayer(image, upper, listing), { _tag: "Unchanged" })
      assert.isFalse(existsSync(join(upper, "proc")))
      layer(upper, { "etc/new": "x", "var/": "" })
      execFileSync("setfattr", ["-n", "user.overlay.opaque", "-v", "y", join(upper, "var")])
      // The listing the sandbox's setup process makes of its upper dir.
      writeFileSync(listing, execFileSync("bash", ["-c", LIST_OPAQUE_DIRS], { cwd: upper }))
      assert.deepStrictEqual(yield* stageLayer(image, upper, listing), { _tag: "Changed", opaque: ["var"] })
    }))
})
