import { afterAll, assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Readable } from "node:stream"
import type { IdMapping } from "../../../src/local/host/IdMapping.js"
import { unpackLayer, UnsafeLayerEntry, zstdSupported } from "../../../src/local/oci/LayerUnpack.js"
import { tarBytes, type TarMember, twoLayers } from "../../support/ociImages.js"

const root = process.getuid?.() === 0
// As root the sandbox's ids start at an unprivileged base; otherwise only the user's own id maps.
const ids: IdMapping = root ? { uid: 200000, gid: 300000, count: 65536 } : { uid: process.getuid!(), gid: process.getgid!(), count: 1 }

const base = mkdtempSync(join(tmpdir(), "contree-unpack-"))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let counter = 0

const unpack = async (bytes: Uint8Array) => {
  const dir = join(base, `layer${++counter}`)
  const result = await unpackLayer(Readable.from([bytes]), dir, ids, new AbortController().signal)
  return { dir, ...result }
}

const unpackMembers = async (members: ReadonlyArray<TarMember>) => unpack(await tarBytes(members))

const rejects = async (members: ReadonlyArray<TarMember>, pattern: RegExp) => {
  try {
    await unpackMembers(members)
  } catch (error) {
    assert.instanceOf(error, UnsafeLayerEntry)
    assert.match((error as Error).message, pattern)
    return
  }
  assert.fail("the layer was accepted")
}

const xattrs = (dir: string) => execFileSync("getfattr", ["-R", "-h", "-d", "-m", "^user\\.overlay\\.", "."], { cwd: dir, encoding: "utf8" })

describe("unpackLayer", () => {
  it("turns .wh. names into whiteouts and .wh..wh..opq into opaque directories, from gzip", async () => {
    const [lower, upper] = await twoLayers()
    const first = await unpack(lower)
    assert.strictEqual(readFileSync(join(first.dir, "etc/removed.txt"), "utf8"), "to be deleted")
    assert.deepStrictEqual(first.opaque, [])
    const second = await unpack(upper)
    const whiteout = lstatSync(join(second.dir, "etc/removed.txt"))
    assert.isTrue(whiteout.isCharacterDevice())
    assert.strictEqual(whiteout.rdev, 0)
    assert.isFalse(existsSync(join(second.dir, "etc/.wh.removed.txt")))
    assert.isFalse(existsSync(join(second.dir, "etc/conf.d/.wh..wh..opq")))
    assert.deepStrictEqual(second.opaque, ["etc/conf.d"])
    assert.include(xattrs(second.dir), "# file: etc/conf.d\nuser.overlay.opaque=\"y\"")
    assert.strictEqual(readFileSync(join(second.dir, "etc/conf.d/new.conf"), "utf8"), "new")
  })

  it("reads uncompressed tars too", async () => {
    const layer = await unpackMembers([{ name: "./plain.txt", content: "plain" }])
    assert.strictEqual(readFileSync(join(layer.dir, "plain.txt"), "utf8"), "plain")
  })

  it("says zstd needs a newer Node where this one lacks it", async () => {
    if (zstdSupported()) return
    try {
      await unpack(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]))
      assert.fail("accepted")
    } catch (error) {
      assert.match((error as Error).message, /zstd-compressed.*Node 22\.15 or later/)
    }
  })

  it("keeps modes (setuid included), mtimes and mapped owners", async () => {
    const mtime = new Date("2020-05-06T07:08:09Z")
    const layer = await unpackMembers([
      { name: "usr/", type: "directory", mode: 0o750, uid: 5, gid: 6, mtime },
      { name: "usr/su", content: "x", mode: 0o4755, uid: 0, gid: 0, mtime },
      { name: "usr/owned", content: "y", mode: 0o640, uid: 1000, gid: 1001 },
      { name: "usr/alien", content: "z", uid: 70000, gid: 70000 },
      { name: "usr/link", type: "symlink", linkname: "su", uid: 7, gid: 8 }
    ])
    const su = lstatSync(join(layer.dir, "usr/su"))
    assert.strictEqual(su.mode & 0o7777, 0o4755)
    assert.strictEqual(su.mtime.getTime(), mtime.getTime())
    const usr = lstatSync(join(layer.dir, "usr"))
    assert.strictEqual(usr.mode & 0o7777, 0o750)
    assert.strictEqual(usr.mtime.getTime(), mtime.getTime())
    assert.strictEqual(readlinkSync(join(layer.dir, "usr/link")), "su")
    if (root) {
      assert.deepStrictEqual([su.uid, su.gid], [ids.uid, ids.gid])
      assert.deepStrictEqual([usr.uid, usr.gid], [ids.uid + 5, ids.gid + 6])
      const owned = lstatSync(join(layer.dir, "usr/owned"))
      assert.deepStrictEqual([owned.uid, owned.gid], [ids.uid + 1000, ids.gid + 1001])
      // Outside the 65,536 mapped ids: the sandbox's root owns it.
      const alien = lstatSync(join(layer.dir, "usr/alien"))
      assert.deepStrictEqual([alien.uid, alien.gid], [ids.uid, ids.gid])
      const link = lstatSync(join(layer.dir, "usr/link"))
      assert.deepStrictEqual([link.uid, link.gid], [ids.uid + 7, ids.gid + 8])
    }
  })

  it("skips device nodes and fifos", async () => {
    const layer = await unpackMembers([
      { name: "dev/", type: "directory" },
      { name: "dev/null", type: "character-device" },
      { name: "dev/sda", type: "block-device" },
      { name: "dev/pipe", type: "fifo" },
      { name: "dev/ok", content: "ok" }
    ])
    assert.deepStrictEqual([...layer.skipped].sort(), ["dev/null", "dev/pipe", "dev/sda"])
    assert.deepStrictEqual(["null", "sda", "pipe"].filter((name) => existsSync(join(layer.dir, "dev", name))), [])
    assert.isTrue(existsSync(join(layer.dir, "dev/ok")))
  })

  it("links hardlinks inside the layer", async () => {
    const layer = await unpackMembers([
      { name: "a/file", content: "same" },
      { name: "b/alias", type: "link", linkname: "a/file" }
    ])
    assert.strictEqual(lstatSync(join(layer.dir, "a/file")).ino, lstatSync(join(layer.dir, "b/alias")).ino)
  })

  describe("refuses entries that leave the layer", () => {
    const outside = join(base, "outside")
    const untouched = () => assert.isFalse(existsSync(outside))

    it("with ..", async () => {
      await rejects([{ name: "../outside", content: "x" }], /climbs out/)
      await rejects([{ name: "a/../../outside", content: "x" }], /climbs out/)
      untouched()
    })

    it("with an absolute path", async () => {
      await rejects([{ name: `${outside}`, content: "x" }], /absolute path/)
      untouched()
    })

    it("through a symlink of the layer", async () => {
      await rejects([{ name: "escape", type: "symlink", linkname: base }, { name: "escape/outside", content: "x" }], /not a directory/)
      await rejects([{ name: "escape", type: "symlink", linkname: base }, { name: "escape/.wh.outside" }], /not a directory/)
      untouched()
    })

    it("with a hardlink to a file outside or missing", async () => {
      await rejects([{ name: "pw", type: "link", linkname: "../../../etc/passwd" }], /climbs out/)
      await rejects([{ name: "pw", type: "link", linkname: "/etc/passwd" }], /absolute path/)
      await rejects([{ name: "pw", type: "link", linkname: "missing" }], /not a file of this layer/)
      await rejects([
        { name: "escape", type: "symlink", linkname: "/etc" },
        { name: "pw", type: "link", linkname: "escape/passwd" }
      ], /not a directory/)
    })
  })
})

describe("unpackLayer: names met twice in one layer", () => {
  it("lets the later entry win, whatever stood there", async () => {
    const layer = await unpackMembers([
      { name: "implicit/child", content: "under an implicit directory" },
      { name: "implicit", content: "a file replaces the directory" },
      { name: "twice", content: "first" },
      { name: "twice", content: "second" },
      { name: "gone", content: "x" },
      { name: ".wh.gone" },
      { name: "back", content: "x" },
      { name: ".wh.back" },
      { name: "back", content: "again" }
    ])
    assert.strictEqual(readFileSync(join(layer.dir, "implicit"), "utf8"), "a file replaces the directory")
    assert.strictEqual(readFileSync(join(layer.dir, "twice"), "utf8"), "second")
    assert.isTrue(lstatSync(join(layer.dir, "gone")).isCharacterDevice())
    assert.strictEqual(readFileSync(join(layer.dir, "back"), "utf8"), "again")
  })
})
