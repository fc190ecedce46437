import { Effect, Option, Redacted, Schema } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { link, mkdir, open, readFile, rm, stat } from "node:fs/promises"
import { dirname, join } from "node:path"

export class ServeTokenError extends Schema.TaggedError<ServeTokenError>()("ServeTokenError", {
  reason: Schema.Literal("Unreadable", "Unwritable", "Empty"),
  message: Schema.String
}) {}

/** Where the token of `contree-mcp serve` comes from: the environment first, else the token file. */
export interface TokenSource {
  readonly fromEnv: Option.Option<Redacted.Redacted<string>>
  readonly file: string
}

export interface ServeToken {
  readonly token: Redacted.Redacted<string>
  /** Set when this start made the token (and wrote it to `file`): the one time it is shown. */
  readonly generated: Option.Option<string>
}

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** 32 random bytes, URL-safe: fits a header and a shell variable without quoting. */
const newToken = () => randomBytes(32).toString("base64url")

/**
 * Writes a new token with mode 0600, staged beside the file and linked into place only if no file
 * exists yet, so two servers starting at once on one data dir agree on one token.
 */
const generate = (file: string): Effect.Effect<Option.Option<string>, ServeTokenError> =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      const temp = join(dirname(file), `.serve-token.${randomBytes(6).toString("hex")}.tmp`)
      const handle = await open(temp, "wx", 0o600)
      try {
        await handle.writeFile(`${newToken()}\n`)
        await handle.sync()
      } finally {
        await handle.close()
      }
      try {
        // link fails when the file exists: the first writer wins and every server reads its token.
        await link(temp, file)
        return Option.some(file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return Option.none<string>()
        throw error
      } finally {
        await rm(temp, { force: true })
      }
    },
    catch: (cause) => new ServeTokenError({ reason: "Unwritable", message: `cannot write the serve token file ${file}: ${describe(cause)}` })
  })

const readTokenFile = (file: string): Effect.Effect<Option.Option<Redacted.Redacted<string>>, ServeTokenError> =>
  Effect.tryPromise({
    try: async () => {
      try {
        return Option.some(await readFile(file, "utf8"))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return Option.none<string>()
        throw error
      }
    },
    catch: (cause) => new ServeTokenError({ reason: "Unreadable", message: `cannot read the serve token file ${file}: ${describe(cause)}` })
  }).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(Option.none()),
      onSome: (text) =>
        text.trim() === ""
          ? Effect.fail(new ServeTokenError({ reason: "Empty", message: `the serve token file ${file} is empty: put a token in it or delete it` }))
          : Effect.succeed(Option.some(Redacted.make(text.trim())))
    }))
  )

/** Warns when others may read the token file: the token is as good as a password to the sandboxes. */
const warnIfShared = (file: string) =>
  Effect.promise(() => stat(file).then((s) => s.mode & 0o077, () => 0)).pipe(
    Effect.flatMap((shared) =>
      shared === 0 ? Effect.void : Effect.logWarning(`the serve token file ${file} is readable by other users: chmod 600 ${file}`)
    )
  )

/** The configured token, else the one in the token file, else a new one written there. */
export const resolveServeToken = (source: TokenSource): Effect.Effect<ServeToken, ServeTokenError> =>
  Option.match(source.fromEnv, {
    onSome: (token) =>
      Redacted.value(token).trim() === ""
        ? Effect.fail(new ServeTokenError({ reason: "Empty", message: "CONTREE_MCP_SERVE_TOKEN is set but empty" }))
        : Effect.succeed({ token, generated: Option.none() }),
    onNone: () =>
      Effect.gen(function*() {
        const existing = yield* readTokenFile(source.file)
        if (Option.isSome(existing)) {
          yield* warnIfShared(source.file)
          return { token: existing.value, generated: Option.none() }
        }
        const generated = yield* generate(source.file)
        const token = yield* readTokenFile(source.file)
        if (Option.isNone(token)) {
          return yield* new ServeTokenError({ reason: "Unreadable", message: `the serve token file ${source.file} vanished after it was written` })
        }
        return { token: token.value, generated }
      })
  })

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest()

/**
 * Checks an `Authorization` header against the token in constant time: both sides are hashed
 * first, so neither the token's length nor a matching prefix shows in the time taken.
 */
export const makeTokenCheck = (token: Redacted.Redacted<string>) => {
  const expected = digest(Redacted.value(token))
  return (authorization: string | undefined): boolean => {
    const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "")?.[1] ?? ""
    return timingSafeEqual(digest(presented), expected) && presented !== ""
  }
}
