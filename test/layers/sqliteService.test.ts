import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContreeCacheSqlite } from "../../src/layers/ContreeCacheSqlite.js"
import { ContreeCache } from "../../src/services/ContreeCache.js"

const modeOf = (path: string) => statSync(path).mode & 0o7777

describe("sqliteService", () => {
  it.live("a cache database and its -wal and -shm are 0600, in a new directory 0700; an existing 0644 one is fixed", () =>
    Effect.gen(function*() {
      const home = mkdtempSync(join(tmpdir(), "contree-sqlite-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(home, { recursive: true, force: true })))
      const fresh = join(home, "new", "cache.db")
      const old = join(home, "old.db")
      writeFileSync(old, "", { mode: 0o644 })
      for (const filename of [fresh, old]) {
        yield* Effect.gen(function*() {
          yield* (yield* ContreeCache).put("image", "k", { held: "while open" })
          for (const suffix of ["", "-wal", "-shm"]) assert.strictEqual(modeOf(filename + suffix), 0o600, filename + suffix)
        }).pipe(Effect.provide(ContreeCacheSqlite(filename)))
      }
      assert.strictEqual(modeOf(join(home, "new")), 0o700)
    }).pipe(Effect.scoped))
})
