import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync } from "node:fs"
import { join } from "node:path"
import { scopeGitignore } from "../../src/files/IgnoreRules.js"
import { walkTree, type WalkOptions } from "../../src/files/walkTree.js"
import { fifo, isRoot, socket, symlink, tempDir, writeTree } from "../support/tree.js"

const walk = (root: string, options: Partial<WalkOptions> = {}) =>
  Effect.promise(() => walkTree(root, { exclude: [], gitignore: true, ...options }))

/** The relative paths a walk keeps, sorted. */
const kept = (root: string, options: Partial<WalkOptions> = {}) =>
  Effect.map(walk(root, options), (result) => result.files.map((file) => file.rel).sort())

describe("scopeGitignore", () => {
  it("anchors patterns with a slash to their directory and lets the others match at any depth below it", () => {
    const text = "# comment\n\n*.pyc\n/local.txt\nsrc/gen/\n!keep.pyc\n__pycache__/\n**/deep\n"
    assert.deepStrictEqual(scopeGitignore(text, "pkg"), [
      "pkg/**/*.pyc",
      "pkg/local.txt",
      "pkg/src/gen/",
      "!pkg/**/keep.pyc",
      "pkg/**/__pycache__/",
      "pkg/**/deep"
    ])
  })

  it("keeps the root's patterns as they are, without comments and blank lines", () => {
    assert.deepStrictEqual(scopeGitignore("*.log\r\n# no\n\n/build\n", ""), ["*.log", "/build"])
  })
})

describe("walkTree exclusion (gitignore semantics)", () => {
  it.scoped("a bare directory pattern matches at every depth, not only at the top", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, {
        "main.py": "",
        "__pycache__/main.cpython-311.pyc": "",
        "pkg/mod.py": "",
        "pkg/__pycache__/mod.cpython-311.pyc": "",
        "pkg/sub/__pycache__/x.pyc": "",
        "notes/__pycache__": "a file, not a directory"
      })
      assert.deepStrictEqual(yield* kept(root, { exclude: ["__pycache__/"] }), ["main.py", "notes/__pycache__", "pkg/mod.py"])
      assert.deepStrictEqual(yield* kept(root, { exclude: ["__pycache__"] }), ["main.py", "pkg/mod.py"])
    }))

  it.scoped("a leading slash anchors a pattern to the source root", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "build/out.o": "", "src/build/keep.c": "", "src/main.c": "" })
      assert.deepStrictEqual(yield* kept(root, { exclude: ["/build"] }), ["src/build/keep.c", "src/main.c"])
    }))

  it.scoped("! re-includes what an earlier pattern excluded, at any depth", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "a.log": "", "keep.log": "", "sub/b.log": "", "sub/keep.log": "", "sub/c.txt": "" })
      assert.deepStrictEqual(yield* kept(root, { exclude: ["*.log", "!keep.log"] }), ["keep.log", "sub/c.txt", "sub/keep.log"])
    }))

  it.scoped("matching is case-sensitive and *.ext matches the extension only", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "a.log": "", "B.LOG": "", "a.log.txt": "" })
      assert.deepStrictEqual(yield* kept(root, { exclude: ["*.log"] }), ["B.LOG", "a.log.txt"])
    }))

  it.scoped("honours .gitignore files at every level, each scoped to its own directory", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, {
        ".gitignore": "*.tmp\n",
        "x.tmp": "",
        "local.txt": "",
        "sub/.gitignore": "/local.txt\n!important.tmp\n",
        "sub/local.txt": "",
        "sub/a.tmp": "",
        "sub/important.tmp": "",
        "sub/deeper/important.tmp": "",
        "sub/deeper/local.txt": "",
        "other/local.txt": "",
        "other/important.tmp": ""
      })
      assert.deepStrictEqual(yield* kept(root), [
        ".gitignore",
        "local.txt",
        "other/local.txt",
        "sub/.gitignore",
        "sub/deeper/important.tmp",
        "sub/deeper/local.txt",
        "sub/important.tmp"
      ])
      const everything = yield* kept(root, { gitignore: false })
      assert.strictEqual(everything.length, 11)
    }))

  it.scoped("a deeper .gitignore can re-include a directory a shallower one excluded", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { ".gitignore": "build/\n", "build/out.txt": "", "pkg/.gitignore": "!build/\n", "pkg/build/out.txt": "" })
      assert.deepStrictEqual(yield* kept(root), [".gitignore", "pkg/.gitignore", "pkg/build/out.txt"])
    }))

  it.scoped("the caller's patterns come after the .gitignore files, so they win", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { ".gitignore": "dist/\n*.log\n", "dist/app.js": "", "debug.log": "", "src/a.js": "" })
      assert.deepStrictEqual(yield* kept(root, { exclude: ["!dist/", ".gitignore"] }), ["dist/app.js", "src/a.js"])
    }))

  it.scoped("an excluded directory is not walked at all", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "keep.txt": "", "node_modules/x/link-target": "" })
      symlink(root, "node_modules/x/link", "link-target")
      // Unreadable or special entries inside a pruned directory are never even seen.
      const result = yield* walk(root, { exclude: ["node_modules/"] })
      assert.deepStrictEqual(result.files.map((f) => f.rel), ["keep.txt"])
      assert.deepStrictEqual(result.skipped, [])
    }))
})

describe("walkTree entries", () => {
  it.scoped("records size, mtime in ns, inode and permission bits, and never follows symlinks", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "run.sh": "#!/bin/sh\necho hi\n", "data/file.txt": "abc", "elsewhere/x": "" })
      chmodSync(join(root, "run.sh"), 0o755)
      symlink(root, "link-to-file", "run.sh")
      symlink(root, "link-to-dir", "elsewhere")
      const result = yield* walk(root)
      const script = result.files.find((f) => f.rel === "run.sh")!
      assert.strictEqual(script.size, 18)
      assert.strictEqual(script.mode, 0o755)
      assert.isTrue(script.mtimeNs > 1_600_000_000_000_000_000n)
      assert.isTrue(script.ino > 0n)
      assert.strictEqual(script.abs, join(root, "run.sh"))
      // A directory's own files come before those of its subdirectories.
      assert.deepStrictEqual(result.files.map((f) => f.rel), ["run.sh", "data/file.txt", "elsewhere/x"])
      assert.deepStrictEqual(result.skipped, [{ path: "link-to-dir", reason: "symlink" }, { path: "link-to-file", reason: "symlink" }])
    }))

  it.scoped("skips FIFOs and sockets with their reason; excluded ones are not reported", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "a.txt": "" })
      fifo(root, "pipe")
      fifo(root, "ignored.pipe")
      yield* socket(root, "sock")
      const result = yield* walk(root, { exclude: ["*.pipe"] })
      assert.deepStrictEqual(result.files.map((f) => f.rel), ["a.txt"])
      assert.deepStrictEqual(result.skipped, [{ path: "pipe", reason: "fifo" }, { path: "sock", reason: "socket" }])
    }))

  // Root reads any directory, so this can only be observed as another user.
  it.scoped.skipIf(isRoot)("skips a directory it cannot read, with the system's reason", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      writeTree(root, { "a.txt": "", "secret/b.txt": "" })
      chmodSync(join(root, "secret"), 0)
      yield* Effect.addFinalizer(() => Effect.sync(() => chmodSync(join(root, "secret"), 0o755)))
      const result = yield* walk(root)
      assert.deepStrictEqual(result.files.map((f) => f.rel), ["a.txt"])
      assert.deepStrictEqual(result.skipped, [{ path: "secret/", reason: "unreadable", detail: "EACCES" }])
    }))

  it.effect("fails only when the root itself cannot be read", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.tryPromise(() => walkTree("/nonexistent/contree-test", { exclude: [], gitignore: true })))
      assert.include(String(error.cause), "ENOENT")
    }))
})
