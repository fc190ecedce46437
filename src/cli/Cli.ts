import { Either, Option, Redacted } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { parse as parseIni } from "ini"
import { expandHome } from "../files/expandHome.js"
import { NETWORK_POLICIES } from "../local/sandbox/SandboxNetwork.js"
import type { BackendName, ContreeConfigShape, LogLevelName, ServerMode } from "../services/ContreeConfig.js"
import { DEFAULT_SERVE_PORT, type ServeApiSettings } from "../serve/ServeApiSettings.js"
import { serverName, version } from "../version.js"
import { IAM_DEFAULT_URL, readVendorProfile } from "./VendorProfile.js"

export type CliAction =
  | { readonly _tag: "Serve"; readonly config: ContreeConfigShape }
  | { readonly _tag: "Help"; readonly text: string }
  | { readonly _tag: "Version"; readonly text: string }
  | { readonly _tag: "Doctor"; readonly config: ContreeConfigShape }
  | { readonly _tag: "ServeApi"; readonly config: ContreeConfigShape; readonly api: ServeApiSettings }

/** A setting: its flag, its environment variable, where it lives in the INI file, and its default. */
interface Setting {
  readonly flag: string
  readonly env: string
  readonly ini: readonly [section: string, key: string]
  readonly fallback: string | undefined
  readonly help: string
  /** The same setting as the vendor's tools read it from the environment: after ours, before the files. */
  readonly vendorEnv?: string
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** `auto`, `none` (null), or a size in bytes, optionally with K, M, G or T; undefined when it is none of them. */
export const parseImportCap = (text: string): number | null | "auto" | undefined => {
  const lower = text.trim().toLowerCase()
  if (lower === "auto") return "auto"
  if (lower === "none") return null
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(lower)
  if (match === null) return undefined
  const bytes = Math.floor(Number(match[1]) * SIZE_UNITS[match[2]!]!)
  return bytes > 0 ? bytes : undefined
}

const defaultConfigPath = join(homedir(), ".config", "contree", "mcp.ini")

const settings = {
  backend: { flag: "backend", env: "CONTREE_MCP_BACKEND", ini: ["DEFAULT", "backend"], fallback: undefined, help: "cloud (the ConTree API) or local (sandboxes on this machine); default cloud with a token, else local" },
  network: { flag: "network", env: "CONTREE_MCP_NETWORK", ini: ["local", "network"], fallback: "off", help: "Local backend: outbound network for sandboxes. off (loopback only), opt-in (runs passing network=true) or on (every run); never the host's loopback" },
  maxImportBytes: { flag: "max-import-bytes", env: "CONTREE_MCP_MAX_IMPORT_BYTES", ini: ["local", "max_import_bytes"], fallback: "auto", help: "Local backend: the most one import may unpack, as bytes or with K, M, G or T (powers of 1024); auto: the data directory's free space less a tenth of its filesystem (at most 1 GiB); none: no cap" },
  dataDir: { flag: "data-dir", env: "CONTREE_MCP_DATA_DIR", ini: ["local", "data_dir"], fallback: undefined, help: "Local backend state (images, layers, uploads); default $XDG_DATA_HOME/contree-mcp" },
  url: { flag: "url", env: "CONTREE_MCP_URL", vendorEnv: "CONTREE_URL", ini: ["DEFAULT", "url"], fallback: "https://contree.dev", help: "ConTree API base URL (/v1 is appended); an IAM profile's default is " + IAM_DEFAULT_URL },
  token: { flag: "token", env: "CONTREE_MCP_TOKEN", vendorEnv: "CONTREE_TOKEN", ini: ["DEFAULT", "token"], fallback: undefined, help: "ConTree API token. Prefer a file (auth.ini or mcp.ini): flags and env vars can show up in process listings" },
  project: { flag: "project", env: "CONTREE_MCP_PROJECT", vendorEnv: "CONTREE_PROJECT", ini: ["DEFAULT", "project"], fallback: undefined, help: "IAM project, sent as the Project header" },
  profile: { flag: "profile", env: "CONTREE_MCP_PROFILE", vendorEnv: "CONTREE_PROFILE", ini: ["DEFAULT", "profile"], fallback: undefined, help: "The [profile:NAME] of auth.ini to use; default its [DEFAULT] profile" },
  mode: { flag: "mode", env: "CONTREE_MCP_MODE", ini: ["DEFAULT", "mode"], fallback: "stdio", help: "Transport: stdio or http" },
  logLevel: { flag: "log-level", env: "CONTREE_MCP_LOG_LEVEL", ini: ["DEFAULT", "log_level"], fallback: "warning", help: "debug, info, warning, error or critical (logs go to stderr)" },
  httpListen: { flag: "http-listen", env: "CONTREE_MCP_HTTP_LISTEN", ini: ["http", "listen"], fallback: "127.0.0.1", help: "HTTP mode: address to listen on" },
  httpPort: { flag: "http-port", env: "CONTREE_MCP_HTTP_PORT", ini: ["http", "port"], fallback: "9452", help: "HTTP mode: port" },
  cacheFiles: { flag: "cache-files", env: "CONTREE_MCP_CACHE_FILES", ini: ["cache", "files"], fallback: "~/.cache/contree_mcp/files.db", help: "File-sync database (the local backend's default: files.db in its data dir)" },
  cacheGeneral: { flag: "cache-general", env: "CONTREE_MCP_CACHE_GENERAL", ini: ["cache", "general"], fallback: "~/.cache/contree_mcp/cache.db", help: "Cache database (the local backend's default: cache.db in its data dir)" },
  cachePruneDays: { flag: "cache-prune-days", env: "CONTREE_MCP_CACHE_PRUNE_DAYS", ini: ["cache", "prune_days"], fallback: "60", help: "Delete cache entries older than this many days; 0 keeps everything" },
  registryCredentials: { flag: "registry-credentials", env: "CONTREE_MCP_REGISTRY_CREDENTIALS", ini: ["registry", "credentials"], fallback: "~/.config/contree/registry-credentials.json", help: "Registry credential file (created with mode 0600)" },
  serveListen: { flag: "serve-listen", env: "CONTREE_MCP_SERVE_LISTEN", ini: ["serve", "listen"], fallback: "127.0.0.1", help: "serve: address to listen on" },
  servePort: { flag: "serve-port", env: "CONTREE_MCP_SERVE_PORT", ini: ["serve", "port"], fallback: String(DEFAULT_SERVE_PORT), help: "serve: port" },
  serveTokenFile: { flag: "serve-token-file", env: "CONTREE_MCP_SERVE_TOKEN_FILE", ini: ["serve", "token_file"], fallback: undefined, help: "serve: the API token's file, created (0600) with a new token when missing; default serve-token in the data dir. CONTREE_MCP_SERVE_TOKEN, when set, is used instead" },
  insecureRegistries: { flag: "insecure-registries", env: "CONTREE_MCP_INSECURE_REGISTRIES", ini: ["registry", "insecure"], fallback: undefined, help: "Comma-separated registries (host or host:port) reached over plain HTTP; loopback ones always are" }
} satisfies Record<string, Setting>

type Key = keyof typeof settings

export const helpText = (): string => {
  const all: ReadonlyArray<Setting> = Object.values(settings)
  const width = Math.max(...all.map((s) => s.flag.length)) + 2
  const option = (flag: string, text: string) => `  --${flag.padEnd(width)} ${text}`
  const rows = all.map((s) =>
    `${option(s.flag, s.help)}\n  ${" ".repeat(width + 2)} env ${s.env}, ini [${s.ini[0]}] ${s.ini[1]}${
      s.fallback === undefined ? "" : `, default ${s.fallback}`
    }`
  )
  return [
    `${serverName} ${version}: MCP server for isolated sandboxes over immutable images (ConTree).`,
    "",
    `Usage: ${serverName} [options]            serve MCP (stdio by default)`,
    `       ${serverName} doctor [options]     show the backend and the sandbox isolation and limits in force`,
    `       ${serverName} serve [options]      serve the local engine as the ConTree REST API v1 (http://127.0.0.1:${DEFAULT_SERVE_PORT}/v1)`,
    "",
    "Options (command line > environment > config file > default):",
    ...rows,
    option("help", "Show this help"),
    option("version", "Show the version"),
    "",
    `Config file: CONTREE_MCP_CONFIG, default ${defaultConfigPath}`,
    "  [DEFAULT]",
    "  url = https://contree.dev/",
    "  token = <TOKEN>",
    "",
    "The vendor's shared profiles are read too (below everything above, field by field):",
    "  auth.ini and cli.ini in $CONTREE_HOME, else $XDG_CONFIG_HOME/contree, else ~/.config/contree;",
    "  [DEFAULT] profile = NAME, and [profile:NAME] with url, token, type (iam or jwt) and project.",
    "  CONTREE_TOKEN, CONTREE_URL, CONTREE_PROJECT and CONTREE_PROFILE come after CONTREE_MCP_*;",
    "  NEBIUS_API_KEY with NEBIUS_AI_PROJECT (both) after them.",
    ""
  ].join("\n")
}

const logLevels: Record<string, LogLevelName> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  warning: "warning",
  error: "error",
  critical: "critical",
  fatal: "critical"
}

type ReadFile = (path: string) => string | undefined

/**
 * Resolves the configuration from the command line, the environment and the INI file.
 * Returns a message naming the offending setting and what it accepts on bad input.
 */
export const parseCli = (argv: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>, readFile: ReadFile): Either.Either<CliAction, string> => {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(Object.values(settings).map((s: Setting) => [s.flag, { type: "string" as const }])),
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" }
      }
    })
  } catch (error) {
    return Either.left(`${error instanceof Error ? error.message : String(error)}\nRun '${serverName} --help' for the options.`)
  }
  if (parsed.values["help"] === true) return Either.right({ _tag: "Help", text: helpText() })
  if (parsed.values["version"] === true) return Either.right({ _tag: "Version", text: `${serverName} ${version}` })
  const command = parsed.positionals.join(" ")
  if (command !== "" && command !== "doctor" && command !== "serve") {
    return Either.left(`unknown command '${command}': the commands are 'doctor' and 'serve'.\nRun '${serverName} --help' for the options.`)
  }

  const configPath = expandHome(env["CONTREE_MCP_CONFIG"] || defaultConfigPath)
  const iniText = readFile(configPath)
  let ini: Record<string, unknown> = {}
  if (iniText !== undefined) {
    try {
      ini = parseIni(iniText)
    } catch (error) {
      return Either.left(`cannot parse the config file ${configPath}: ${String(error)}`)
    }
  }
  // The Nebius pair counts only whole: a key without its project (or the reverse) belongs to something else.
  const nebius: Partial<Record<Key, string>> = env["NEBIUS_API_KEY"] && env["NEBIUS_AI_PROJECT"]
    ? { token: env["NEBIUS_API_KEY"], project: env["NEBIUS_AI_PROJECT"] }
    : {}
  const fromIni = ([section, key]: readonly [string, string]): string | undefined => {
    const read = (scope: unknown) => typeof scope === "object" && scope !== null ? (scope as Record<string, unknown>)[key] : undefined
    // As in Python's configparser, [DEFAULT] may be written out or left implicit (keys before any section).
    const value = section === "DEFAULT" ? read(ini["DEFAULT"]) ?? read(ini) : read(ini[section])
    return value === undefined || value === null ? undefined : String(value)
  }
  /** What the command line or the environment says, before the Nebius pair and the files. */
  const explicit = (key: Key): string | undefined => {
    const s: Setting = settings[key]
    const flag = (parsed.values as Record<string, string | boolean | undefined>)[s.flag]
    return (typeof flag === "string" ? flag : undefined) ?? (env[s.env] || undefined) ??
      (s.vendorEnv === undefined ? undefined : env[s.vendorEnv] || undefined)
  }
  /** What the user set, if anything. */
  const configured = (key: Key): string | undefined => explicit(key) ?? nebius[key] ?? fromIni(settings[key].ini)
  /** Where a setting came from, for messages: the first source that has it. */
  const sourceOf = (key: Key): string => {
    const s: Setting = settings[key]
    if (typeof (parsed.values as Record<string, unknown>)[s.flag] === "string") return `--${s.flag}`
    if (env[s.env]) return s.env
    return s.vendorEnv !== undefined && env[s.vendorEnv] ? s.vendorEnv : configPath
  }
  const value = (key: Key): string | undefined => configured(key) ?? settings[key].fallback
  const invalid = (key: Key, got: string, allowed: string) =>
    Either.left(`invalid ${settings[key].flag} '${got}' (from --${settings[key].flag}, ${settings[key].env} or ${configPath}): ${allowed}`)

  const mode = value("mode")!.toLowerCase()
  if (mode !== "stdio" && mode !== "http") return invalid("mode", mode, "use stdio or http")
  const level = logLevels[value("logLevel")!.toLowerCase()]
  if (level === undefined) return invalid("logLevel", value("logLevel")!, "use debug, info, warning, error or critical")
  const port = Number(value("httpPort"))
  if (!Number.isInteger(port) || port < 0 || port > 65535) return invalid("httpPort", value("httpPort")!, "use a port number from 0 to 65535")
  const servePort = Number(value("servePort"))
  if (!Number.isInteger(servePort) || servePort < 0 || servePort > 65535) return invalid("servePort", value("servePort")!, "use a port number from 0 to 65535")
  const pruneDays = Number(value("cachePruneDays"))
  if (!Number.isFinite(pruneDays)) return invalid("cachePruneDays", value("cachePruneDays")!, "use a number of days")
  const chosenProfile = configured("profile")
  const profileOrError = readVendorProfile(chosenProfile === undefined ? undefined : { name: chosenProfile, source: sourceOf("profile") }, env, readFile)
  if (Either.isLeft(profileOrError)) return Either.left(profileOrError.left)
  const profile = profileOrError.right
  const token = configured("token") ?? profile?.token
  const project = configured("project") ?? profile?.project
  const iam = profile === undefined ? nebius.token !== undefined || project !== undefined : profile.type === "iam"
  if (profile !== undefined && profile.type === "jwt" && profile.url === undefined && configured("url") === undefined) {
    return Either.left(`profile '${profile.name}' in ${profile.file} is a jwt profile without a url: add url = https://… to it, or pass --url`)
  }
  // A Nebius key goes only where it belongs: a URL from a file was set up for that file's token.
  const nebiusToken = explicit("token") === undefined && nebius.token !== undefined
  const url = nebiusToken
    ? explicit("url") ?? IAM_DEFAULT_URL
    : configured("url") ?? profile?.url ?? (iam ? IAM_DEFAULT_URL : settings.url.fallback)
  if (!/^https?:\/\/[^/]/.test(url)) return invalid("url", url, "use an http:// or https:// URL")
  const backend = (value("backend") ?? (token ? "cloud" : "local")).toLowerCase()
  if (backend !== "cloud" && backend !== "local") return invalid("backend", backend, "use cloud or local")
  const network = NETWORK_POLICIES.find((policy) => policy === value("network")!.toLowerCase())
  if (network === undefined) return invalid("network", value("network")!, "use off, opt-in or on")
  const maxImport = parseImportCap(value("maxImportBytes")!)
  if (maxImport === undefined) return invalid("maxImportBytes", value("maxImportBytes")!, "use a size such as 20G, auto or none")
  const dataHome = env["XDG_DATA_HOME"] || join(homedir(), ".local", "share")
  const dataDir = expandHome(value("dataDir") ?? join(dataHome, "contree-mcp"))
  // The caches remember what the backend holds (uploads by hash, operations). The local backend's
  // uuids mean something only in its own data directory, so by default its caches live there.
  const cachePath = (key: "cacheFiles" | "cacheGeneral", file: string) =>
    expandHome(configured(key) ?? (backend === "local" ? join(dataDir, file) : settings[key].fallback))

  const config: ContreeConfigShape = {
    backend: backend satisfies BackendName,
    dataDir,
    network,
    url,
    token: token ? Option.some(Redacted.make(token.trim())) : Option.none(),
    project: project ? Option.some(project.trim()) : Option.none(),
    mode: mode satisfies ServerMode,
    logLevel: level,
    httpListen: value("httpListen")!,
    httpPort: port,
    cacheFiles: cachePath("cacheFiles", "files.db"),
    cacheGeneral: cachePath("cacheGeneral", "cache.db"),
    cachePruneDays: pruneDays,
    registryCredentials: expandHome(value("registryCredentials")!),
    insecureRegistries: (value("insecureRegistries") ?? "").split(",").map((entry) => entry.trim()).filter((entry) => entry !== ""),
    ...(maxImport === "auto" ? {} : { maxImportBytes: maxImport })
  }
  if (command === "serve") {
    const serveToken = env["CONTREE_MCP_SERVE_TOKEN"]?.trim()
    return Either.right({
      _tag: "ServeApi",
      config,
      api: {
        listen: value("serveListen")!,
        port: servePort,
        token: serveToken ? Option.some(Redacted.make(serveToken)) : Option.none(),
        tokenFile: expandHome(value("serveTokenFile") ?? join(dataDir, "serve-token"))
      }
    })
  }
  return Either.right({ _tag: command === "doctor" ? "Doctor" : "Serve", config })
}
