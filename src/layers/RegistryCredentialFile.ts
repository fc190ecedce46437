/**
 * The registry credential store: one JSON file, readable only by the user.
 *
 * Decisions:
 * - A file, not the OS keychain: a keychain needs a desktop session (Secret Service, Keychain
 *   Access) that headless servers and containers lack, and a native module or helper binary this
 *   package does not want. Docker's `~/.docker/config.json` makes the same choice. Unlike the
 *   reference, which kept tokens in the shared cache database (readable with the user's umask,
 *   pruned with the cache), the file is mode 0600 and nothing else lives in it.
 * - Written atomically: a temporary file (created 0600, exclusive) beside it, flushed, then renamed
 *   over it, so a crash leaves the old file or the new one, never a torn one. A missing parent
 *   directory is created 0700; an existing one is left as the user set it (it may be
 *   ~/.config/contree, which also holds mcp.ini).
 * - Read on every lookup, so credentials stored by another server process are seen at once.
 *   Writes are read-modify-write under a lock, and keep entries and fields this version does not
 *   know about.
 * - Error messages name the file and the failing step, never the content: a JSON parse error's
 *   text can quote the file, so it is not passed on.
 */
import { Clock, Effect, Option, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { type RegistryCredentials, RegistryError } from "../services/RegistryAuth.js"

export interface CredentialFile {
  readonly path: string
  readonly get: (registry: string) => Effect.Effect<Option.Option<RegistryCredentials>, RegistryError>
  readonly put: (registry: string, credentials: RegistryCredentials) => Effect.Effect<void, RegistryError>
  readonly remove: (registry: string) => Effect.Effect<void, RegistryError>
}

type Json = Record<string, unknown>

const Entries = Schema.Record({ key: Schema.String, value: Schema.Unknown })
/** The file as stored: `registries` by host, and whatever else a later version keeps beside it. */
const FileJson = Schema.parseJson(Schema.Struct({ registries: Schema.optional(Entries) }, Entries))
const decodeFile = Schema.decodeUnknownOption(FileJson)
/** What a lookup needs of an entry; its other fields are kept, not read. */
const decodeEntry = Schema.decodeUnknownOption(Schema.Struct({ username: Schema.String, token: Schema.String }))

const reason = (cause: unknown) => {
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : cause instanceof Error ? cause.name : "unknown error"
}

export const makeCredentialFile = (path: string): Effect.Effect<CredentialFile> =>
  Effect.gen(function*() {
    const lock = yield* Effect.makeSemaphore(1)
    const storeError = (registry: string, message: string) => new RegistryError({ reason: "Store", registry, message })
    const io = <A>(registry: string, what: string, f: () => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: (cause) => storeError(registry, `cannot ${what} (${reason(cause)})`) })

    /** The whole file as JSON; an absent file is an empty store. */
    const load = (registry: string): Effect.Effect<Json, RegistryError> =>
      Effect.gen(function*() {
        const text = yield* Effect.tryPromise({
          try: () => readFile(path, "utf8").catch((error: { code?: string }) => error.code === "ENOENT" ? undefined : Promise.reject(error)),
          catch: (cause) => storeError(registry, `cannot read the registry credential file ${path} (${reason(cause)})`)
        })
        if (text === undefined || text.trim() === "") return {}
        const mode = yield* Effect.promise(() => stat(path).then((s) => s.mode, () => 0))
        if ((mode & 0o077) !== 0) {
          yield* Effect.logWarning(`the registry credential file ${path} can be read by other users; run: chmod 600 '${path}'`)
        }
        const parsed = decodeFile(text)
        if (Option.isNone(parsed)) {
          return yield* storeError(registry, `the registry credential file ${path} is not in the expected JSON format; fix or delete it`)
        }
        return parsed.value
      })

    const entries = (file: typeof FileJson.Type): Json => file.registries ?? {}

    const save = (registry: string, file: Json) =>
      Effect.gen(function*() {
        const dir = dirname(path)
        const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`)
        const text = `${JSON.stringify(file, null, 2)}\n`
        yield* io(registry, `create the directory ${dir}`, () => mkdir(dir, { recursive: true, mode: 0o700 }))
        yield* Effect.acquireUseRelease(
          io(registry, `create a temporary file in ${dir}`, () => open(temp, "wx", 0o600)),
          // rename() keeps the temporary file's inode, so its mode is the stored file's mode.
          (handle) =>
            io(registry, `write ${temp}`, async () => {
              // The umask can only remove permission bits, but be explicit about the ones we want.
              await handle.chmod(0o600)
              await handle.writeFile(text, "utf8")
              await handle.sync()
            }),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        ).pipe(
          Effect.zipRight(io(registry, `replace ${path}`, () => rename(temp, path))),
          Effect.tapError(() => Effect.promise(() => unlink(temp).catch(() => undefined)))
        )
      })

    const get = (registry: string) =>
      Effect.map(load(registry), (file): Option.Option<RegistryCredentials> => {
        return Option.map(decodeEntry(entries(file)[registry]), (entry) => ({ username: entry.username, token: Redacted.make(entry.token) }))
      })

    const update = (registry: string, change: (registries: Json) => Json) =>
      lock.withPermits(1)(
        Effect.gen(function*() {
          const file = yield* load(registry)
          yield* save(registry, { ...file, registries: change({ ...entries(file) }) })
        })
      )

    return {
      path,
      get,
      put: (registry, credentials) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          update(registry, (registries) => ({
            ...registries,
            [registry]: {
              username: credentials.username,
              token: Redacted.value(credentials.token),
              scopes: ["pull"],
              created_at: new Date(now).toISOString()
            }
          }))),
      remove: (registry) =>
        Effect.flatMap(get(registry), (current) =>
          Option.isNone(current) ? Effect.void : update(registry, (registries) => {
            delete registries[registry]
            return registries
          }))
    }
  })
