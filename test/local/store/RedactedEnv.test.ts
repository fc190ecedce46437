import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { looksSecret, REDACTED, redactSecretEnv } from "../../../src/domain/redact.js"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { LocalDatabase } from "../../../src/local/store/LocalDatabase.js"
import { busybox, describeSandbox, request, run, stdout, tempDir, withLocal } from "../support.js"

describe("secret-looking env names", () => {
  it("follow the vendor's suffixes, any case, with _ and - ignored", () => {
    for (const name of ["GITHUB_TOKEN", "token", "AWS_SECRET", "db_password", "OPENAI_API_KEY", "openai-api-key", "ApiKey", "GOOGLE_CREDENTIALS", "Authorization", "X-AUTHORIZATION", "DBPASSWORD"]) {
      assert.isTrue(looksSecret(name), name)
    }
    for (const name of ["PATH", "HOME", "TOKEN_FILE", "SECRETS_DIR", "PASSWORDLESS", "KEY", "API", "CREDENTIAL_HELPER"]) assert.isFalse(looksSecret(name), name)
  })

  it("only their values are replaced; a null (unset) stays null", () => {
    assert.deepStrictEqual(redactSecretEnv({ GH_TOKEN: "t", PLAIN: "p", OLD_SECRET: null }), { GH_TOKEN: REDACTED, PLAIN: "p", OLD_SECRET: null })
  })

  it.effect("runs stored before redaction are redacted by the migration", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const filename = join(dir, "engine.db")
      const metadata = JSON.stringify({ command: "env", env: { GH_TOKEN: "ghp_old", PLAIN: "p" } })
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO operations (uuid, kind, status, metadata, owner, created_at) VALUES ('op', 'instance', 'SUCCESS', ${metadata}, 'x', 0)`
        // As if the database predated 0004 (what later migrations made goes too, so that they run again).
        yield* sql`DELETE FROM engine_migrations WHERE migration_id >= 4`
        yield* sql`DROP TABLE staged_layers`
      }).pipe(Effect.provide(LocalDatabase(filename)), Effect.scoped)
      const stored = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ metadata: string }>`SELECT metadata FROM operations WHERE uuid = 'op'`
      }).pipe(Effect.provide(LocalDatabase(filename)), Effect.scoped)
      assert.deepStrictEqual(JSON.parse(stored[0]!.metadata), { command: "env", env: { GH_TOKEN: REDACTED, PLAIN: "p" } })
    }).pipe(Effect.scoped))
})

describeSandbox("a run's env", () => {
  it.live("the command gets the real value; the operation and engine.db keep it redacted", () =>
    withLocal((root) =>
      Effect.gen(function*() {
        const op = yield* run(request(yield* busybox, `[ "$GITHUB_TOKEN" = "ghp_""s3cr3t" ] && echo real $PLAIN`, { env: { GITHUB_TOKEN: "ghp_s3cr3t", PLAIN: "plain" } }))
        // Checked inside, the secret spelt apart: neither the command nor its output holds it.
        assert.strictEqual(stdout(op), "real plain\n")
        assert.deepStrictEqual(op.instance?.env, { GITHUB_TOKEN: REDACTED, PLAIN: "plain" })
        const again = yield* (yield* LocalEngine).getOperation(op.uuid)
        assert.deepStrictEqual(again.instance?.env, { GITHUB_TOKEN: REDACTED, PLAIN: "plain" })
        const rows = yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          return yield* sql<{ metadata: string }>`SELECT metadata FROM operations`
        }).pipe(Effect.provide(Layer.fresh(SqliteClient.layer({ filename: join(root, "engine.db") }))), Effect.scoped)
        assert.isFalse(rows.some((row) => row.metadata.includes("ghp_s3cr3t")))
      })))
})
