import { Either } from "effect"
import { parse as parseIni } from "ini"
import { homedir } from "node:os"
import { join } from "node:path"

/** Where the vendor's own tools (contree-cli, the SDKs, the newer reference server) keep their profiles. */
export const IAM_DEFAULT_URL = "https://api.tokenfactory.nebius.com/sandboxes"

export type AuthType = "iam" | "jwt"

/** The active profile of `auth.ini`, as far as it is filled in. */
export interface VendorProfile {
  readonly name: string
  readonly file: string
  readonly type: AuthType
  readonly url: string | undefined
  readonly token: string | undefined
  readonly project: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>
type ReadFile = (path: string) => string | undefined
type Sections = Record<string, Record<string, unknown>>

/** `$CONTREE_HOME`, else `$XDG_CONFIG_HOME/contree`, else `~/.config/contree`. */
export const vendorConfigDir = (env: Env): string =>
  env["CONTREE_HOME"] || join(env["XDG_CONFIG_HOME"] || join(homedir(), ".config"), "contree")

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/** An INI file's sections; keys before any section belong to `[DEFAULT]`, as in Python's configparser. */
const sectionsOf = (text: string): Sections => {
  const parsed: Record<string, unknown> = parseIni(text)
  const sections: Sections = { DEFAULT: {} }
  for (const [key, value] of Object.entries(parsed)) {
    if (isRecord(value)) sections[key] = { ...sections[key], ...value }
    else sections["DEFAULT"]![key] = value
  }
  return sections
}

/** `cli.ini` (non-secret defaults) first, then `auth.ini`, which wins key by key. */
const readSections = (dir: string, readFile: ReadFile): Either.Either<Sections, string> => {
  const merged: Sections = {}
  for (const name of ["cli.ini", "auth.ini"]) {
    const path = join(dir, name)
    const text = readFile(path)
    if (text === undefined) continue
    try {
      for (const [section, values] of Object.entries(sectionsOf(text))) merged[section] = { ...merged[section], ...values }
    } catch (error) {
      return Either.left(`cannot parse ${path}: ${String(error)}`)
    }
  }
  return Either.right(merged)
}

const text = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined
  const s = String(value).trim()
  return s === "" ? undefined : s
}

/**
 * The profile to use: `chosen` (from `--profile` or the environment, named by `source`), else
 * `[DEFAULT] profile`. None when no profile is chosen; a profile named but missing is an error, so
 * a typo never silently falls back to another account. `[profile:NAME]` inherits `[DEFAULT]` values.
 */
export const readVendorProfile = (
  chosen: { readonly name: string; readonly source: string } | undefined,
  env: Env,
  readFile: ReadFile
): Either.Either<VendorProfile | undefined, string> =>
  Either.flatMap(readSections(vendorConfigDir(env), readFile), (sections) => {
    const file = join(vendorConfigDir(env), "auth.ini")
    const defaults = sections["DEFAULT"] ?? {}
    const name = text(chosen?.name) ?? text(defaults["profile"])
    if (name === undefined) return Either.right(undefined)
    const section = sections[`profile:${name}`]
    if (section === undefined) {
      return chosen === undefined
        ? Either.left(`${file} names profile '${name}' under [DEFAULT], but has no [profile:${name}] section`)
        : Either.left(`profile '${name}' (from ${chosen.source}) is not in ${file}`)
    }
    const field = (key: string) => text(section[key]) ?? text(defaults[key])
    const type = (field("type") ?? "jwt").toLowerCase()
    if (type !== "iam" && type !== "jwt") {
      return Either.left(`invalid type '${type}' of profile '${name}' in ${file}: use iam or jwt`)
    }
    return Either.right({ name, file, type, url: field("url"), token: field("token"), project: field("project") })
  })
