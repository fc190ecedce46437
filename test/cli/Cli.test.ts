import { assert, describe, it } from "@effect/vitest"
import { Either, Option, Redacted } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { type CliAction, parseCli } from "../../src/cli/Cli.js"
import type { ContreeConfigShape } from "../../src/services/ContreeConfig.js"
import { version } from "../../src/version.js"

const defaultIni = join(homedir(), ".config", "contree", "mcp.ini")
const vendorFile = (name: string) => join(homedir(), ".config", "contree", name)

/** A file system holding only `files`; records which paths were read. */
const files = (contents: Readonly<Record<string, string>> = {}) => {
  const read: Array<string> = []
  return { read, readFile: (path: string) => (read.push(path), contents[path]) }
}

const action = (argv: ReadonlyArray<string>, env: Record<string, string | undefined> = {}, ini?: string): CliAction => {
  const fs = files(ini === undefined ? {} : { [defaultIni]: ini })
  const parsed = parseCli(argv, env, fs.readFile)
  if (Either.isLeft(parsed)) return assert.fail(`expected success, got: ${parsed.left}`)
  return parsed.right
}

const serve = (argv: ReadonlyArray<string>, env: Record<string, string | undefined> = {}, ini?: string): ContreeConfigShape => {
  const result = action(argv, env, ini)
  if (result._tag !== "Serve") return assert.fail(`expected Serve, got ${result._tag}`)
  return result.config
}

const failure = (argv: ReadonlyArray<string>, env: Record<string, string | undefined> = {}, ini?: string): string => {
  const parsed = parseCli(argv, env, files(ini === undefined ? {} : { [defaultIni]: ini }).readFile)
  if (Either.isRight(parsed)) return assert.fail(`expected a failure, got ${JSON.stringify(parsed.right)}`)
  return parsed.left
}

const tokenOf = (config: ContreeConfigShape) => Option.getOrUndefined(Option.map(config.token, Redacted.value))

describe("parseCli", () => {
  it("uses the defaults when nothing is configured, reading the default config file", () => {
    const fs = files()
    const parsed = parseCli([], {}, fs.readFile)
    // Ours, then the vendor's shared files (cli.ini defaults, auth.ini profiles).
    assert.deepStrictEqual(fs.read, [defaultIni, vendorFile("cli.ini"), vendorFile("auth.ini")])
    const config = Either.getOrThrow(parsed)
    assert.strictEqual(config._tag, "Serve")
    if (config._tag !== "Serve") return
    const dataDir = join(homedir(), ".local", "share", "contree-mcp")
    assert.deepStrictEqual({ ...config.config, token: Option.isNone(config.config.token), project: Option.isNone(config.config.project) }, {
      url: "https://contree.dev",
      token: true,
      project: true,
      mode: "stdio",
      logLevel: "warning",
      httpListen: "127.0.0.1",
      httpPort: 9452,
      // No token: the local backend, whose caches sit beside its state.
      cacheFiles: join(dataDir, "files.db"),
      cacheGeneral: join(dataDir, "cache.db"),
      cachePruneDays: 60,
      registryCredentials: join(homedir(), ".config", "contree", "registry-credentials.json"),
      insecureRegistries: [],
      backend: "local",
      dataDir,
      network: "off"
    })
  })

  it("reads the import cap as a size, auto (the default: from free space) or none", () => {
    assert.notProperty(serve([]), "maxImportBytes")
    assert.strictEqual(serve(["--max-import-bytes", "2G"]).maxImportBytes, 2 * 1024 ** 3)
    assert.strictEqual(serve([], { CONTREE_MCP_MAX_IMPORT_BYTES: "512MiB" }).maxImportBytes, 512 * 1024 ** 2)
    assert.strictEqual(serve([], {}, "[local]\nmax_import_bytes = 1000\n").maxImportBytes, 1000)
    assert.isNull(serve(["--max-import-bytes", "none"]).maxImportBytes)
    assert.notProperty(serve(["--max-import-bytes", "auto"]), "maxImportBytes")
    for (const bad of ["0", "-1", "lots", "1X", ""]) {
      const parsed = parseCli(["--max-import-bytes", bad], {}, files().readFile)
      assert.isTrue(Either.isLeft(parsed), bad)
      if (Either.isLeft(parsed)) assert.include(parsed.left, "max-import-bytes", bad)
    }
  })

  it("reads the network policy from the flag, the environment or [local] network, in that order", () => {
    assert.strictEqual(serve([]).network, "off")
    assert.strictEqual(serve([], {}, "[local]\nnetwork = on\n").network, "on")
    assert.strictEqual(serve([], { CONTREE_MCP_NETWORK: "Opt-In" }, "[local]\nnetwork = on\n").network, "opt-in")
    assert.strictEqual(serve(["--network", "off"], { CONTREE_MCP_NETWORK: "on" }).network, "off")
  })

  it("picks the cloud backend when a token is configured, the local one otherwise, unless told", () => {
    const backend = (argv: ReadonlyArray<string>, env: Record<string, string> = {}) => {
      const parsed = Either.getOrThrow(parseCli(argv, env, () => undefined))
      return parsed._tag === "Serve" ? parsed.config.backend : parsed._tag
    }
    assert.strictEqual(backend([]), "local")
    assert.strictEqual(backend([], { CONTREE_MCP_TOKEN: "t" }), "cloud")
    assert.strictEqual(backend(["--backend", "local"], { CONTREE_MCP_TOKEN: "t" }), "local")
    assert.strictEqual(backend([], { CONTREE_MCP_BACKEND: "cloud" }), "cloud")
    assert.include(Either.getLeft(parseCli(["--backend", "vm"], {}, () => undefined)).pipe(Option.getOrThrow), "use cloud or local")
  })

  it("puts the local state under XDG_DATA_HOME unless --data-dir says otherwise", () => {
    const dataDir = (argv: ReadonlyArray<string>, env: Record<string, string>) => {
      const parsed = Either.getOrThrow(parseCli(argv, env, () => undefined))
      return parsed._tag === "Serve" ? parsed.config.dataDir : ""
    }
    assert.strictEqual(dataDir([], { XDG_DATA_HOME: "/xdg" }), "/xdg/contree-mcp")
    assert.strictEqual(dataDir(["--data-dir", "~/state"], { XDG_DATA_HOME: "/xdg" }), join(homedir(), "state"))
  })

  it("knows the doctor and serve commands and refuses others", () => {
    assert.strictEqual(Either.getOrThrow(parseCli(["doctor"], {}, () => undefined))._tag, "Doctor")
    assert.strictEqual(Either.getOrThrow(parseCli(["serve"], {}, () => undefined))._tag, "ServeApi")
    assert.include(Either.getLeft(parseCli(["run"], {}, () => undefined)).pipe(Option.getOrThrow), "unknown command 'run'")
  })

  it("serve: loopback on 9453 with the token file in the data dir by default; flags, env and INI override", () => {
    const api = (argv: ReadonlyArray<string>, env: Record<string, string> = {}, ini?: string) => {
      const parsed = action(["serve", ...argv], env, ini)
      return parsed._tag === "ServeApi" ? parsed.api : assert.fail(`expected ServeApi, got ${parsed._tag}`)
    }
    const defaults = api(["--data-dir", "/srv/contree"])
    assert.deepStrictEqual({ ...defaults, token: Option.isNone(defaults.token) }, {
      listen: "127.0.0.1",
      port: 9453,
      token: true,
      tokenFile: "/srv/contree/serve-token"
    })
    const set = api(["--serve-listen", "0.0.0.0", "--serve-port", "8080"], { CONTREE_MCP_SERVE_TOKEN: " team-token \n", CONTREE_MCP_SERVE_TOKEN_FILE: "/run/token" })
    assert.deepStrictEqual({ ...set, token: Option.map(set.token, Redacted.value) }, {
      listen: "0.0.0.0",
      port: 8080,
      token: Option.some("team-token"),
      tokenFile: "/run/token"
    })
    assert.strictEqual(api([], {}, "[serve]\nport = 7000\ntoken_file = ~/t\n").port, 7000)
    assert.include(failure(["serve", "--serve-port", "http"]), "invalid serve-port 'http'")
    // The token itself has no flag: command lines show up in process listings.
    assert.include(failure(["serve", "--serve-token", "x"]), "serve-token")
  })

  it("takes a flag over the environment over the INI file", () => {
    const ini = "url = https://ini.example.com\ntoken = ini-token\nmode = http\n"
    const env = { CONTREE_MCP_URL: "https://env.example.com", CONTREE_MCP_TOKEN: "env-token" }
    const fromFlag = serve(["--url", "https://flag.example.com", "--token=flag-token"], env, ini)
    assert.strictEqual(fromFlag.url, "https://flag.example.com")
    assert.strictEqual(tokenOf(fromFlag), "flag-token")
    const fromEnv = serve([], env, ini)
    assert.strictEqual(fromEnv.url, "https://env.example.com")
    assert.strictEqual(tokenOf(fromEnv), "env-token")
    const fromIni = serve([], {}, ini)
    assert.strictEqual(fromIni.url, "https://ini.example.com")
    assert.strictEqual(tokenOf(fromIni), "ini-token")
    assert.strictEqual(fromIni.mode, "http")
  })

  it("treats an empty environment variable as unset", () => {
    const config = serve([], { CONTREE_MCP_URL: "", CONTREE_MCP_TOKEN: "" }, "url = https://ini.example.com\ntoken = t\n")
    assert.strictEqual(config.url, "https://ini.example.com")
    assert.strictEqual(tokenOf(config), "t")
  })

  it("reads [http] and [cache] sections of the INI file", () => {
    const config = serve([], {}, "[http]\nlisten = 0.0.0.0\nport = 8000\n\n[cache]\nprune_days = 7\nfiles = /var/f.db\ngeneral = /var/c.db\n")
    assert.strictEqual(config.httpListen, "0.0.0.0")
    assert.strictEqual(config.httpPort, 8000)
    assert.strictEqual(config.cachePruneDays, 7)
    assert.strictEqual(config.cacheFiles, "/var/f.db")
    assert.strictEqual(config.cacheGeneral, "/var/c.db")
  })

  it("reads settings under an explicit [DEFAULT] section, as the help and the warnings suggest", () => {
    const config = serve([], {}, "[DEFAULT]\nurl = https://default.example.com/\ntoken = from-default\n\n[http]\nport = 8001\n")
    assert.strictEqual(config.url, "https://default.example.com/")
    assert.strictEqual(tokenOf(config), "from-default")
    assert.strictEqual(config.httpPort, 8001)
  })

  it("parses the HTTP and cache flags", () => {
    const config = serve(["--mode=http", "--http-listen=0.0.0.0", "--http-port=8000", "--cache-prune-days=30", "--log-level", "DEBUG"])
    assert.strictEqual(config.mode, "http")
    assert.strictEqual(config.httpListen, "0.0.0.0")
    assert.strictEqual(config.httpPort, 8000)
    assert.strictEqual(config.cachePruneDays, 30)
    assert.strictEqual(config.logLevel, "debug")
  })

  it("accepts log level aliases", () => {
    assert.strictEqual(serve(["--log-level=warn"]).logLevel, "warning")
    assert.strictEqual(serve(["--log-level=fatal"]).logLevel, "critical")
    assert.strictEqual(serve([], { CONTREE_MCP_LOG_LEVEL: "Error" }).logLevel, "error")
  })

  it("reads the config file named by CONTREE_MCP_CONFIG, with ~ expanded", () => {
    const fs = files({ [join(homedir(), "custom.ini")]: "url = https://custom.example.com\n" })
    const parsed = Either.getOrThrow(parseCli([], { CONTREE_MCP_CONFIG: "~/custom.ini" }, fs.readFile))
    assert.deepStrictEqual(fs.read, [join(homedir(), "custom.ini"), vendorFile("cli.ini"), vendorFile("auth.ini")])
    assert.strictEqual(parsed._tag === "Serve" ? parsed.config.url : undefined, "https://custom.example.com")
  })

  it("keeps the caches of the local backend in its data dir unless they are set, and the cloud's in ~/.cache", () => {
    const cloud = serve(["--token=t"])
    assert.strictEqual(cloud.backend, "cloud")
    assert.strictEqual(cloud.cacheFiles, join(homedir(), ".cache", "contree_mcp", "files.db"))
    assert.strictEqual(cloud.cacheGeneral, join(homedir(), ".cache", "contree_mcp", "cache.db"))
    const local = serve(["--token=t", "--backend=local", "--data-dir=/srv/contree"])
    assert.strictEqual(local.backend, "local")
    assert.strictEqual(local.cacheFiles, "/srv/contree/files.db")
    assert.strictEqual(local.cacheGeneral, "/srv/contree/cache.db")
    const fromEnv = serve([], { CONTREE_MCP_DATA_DIR: "/srv/env", XDG_DATA_HOME: "/xdg" })
    assert.deepStrictEqual([fromEnv.backend, fromEnv.dataDir, fromEnv.cacheGeneral], ["local", "/srv/env", "/srv/env/cache.db"])
    assert.strictEqual(serve([], { XDG_DATA_HOME: "/xdg" }).cacheFiles, "/xdg/contree-mcp/files.db")
    const set = serve(["--cache-files=/var/f.db"], { CONTREE_MCP_CACHE_GENERAL: "/var/c.db" })
    assert.deepStrictEqual([set.backend, set.cacheFiles, set.cacheGeneral], ["local", "/var/f.db", "/var/c.db"])
  })

  it("expands ~ in cache paths", () => {
    const config = serve(["--cache-general=~/c/cache.db"], { CONTREE_MCP_CACHE_FILES: "~/f.db" })
    assert.strictEqual(config.cacheGeneral, join(homedir(), "c", "cache.db"))
    assert.strictEqual(config.cacheFiles, join(homedir(), "f.db"))
  })

  it("--help and --version answer without reading the config", () => {
    for (const flag of ["--help", "-h"]) {
      const fs = files()
      const help = Either.getOrThrow(parseCli([flag, "--mode=bogus"], {}, fs.readFile))
      assert.strictEqual(help._tag, "Help")
      assert.include(help._tag === "Help" ? help.text : "", "--url")
      assert.include(help._tag === "Help" ? help.text : "", "CONTREE_MCP_TOKEN")
      assert.deepStrictEqual(fs.read, [])
    }
    for (const flag of ["--version", "-V"]) {
      assert.deepStrictEqual(action([flag]), { _tag: "Version", text: `contree-mcp ${version}` })
    }
  })

  it("refuses invalid values with a message naming the setting", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, string | undefined, ReadonlyArray<string>]> = [
      [["--mode=ftp"], {}, undefined, ["mode", "'ftp'", "stdio or http"]],
      [[], { CONTREE_MCP_MODE: "sse" }, undefined, ["mode", "CONTREE_MCP_MODE"]],
      [["--http-port=99999"], {}, undefined, ["http-port", "99999"]],
      [["--http-port=abc"], {}, undefined, ["http-port"]],
      [["--http-port=80.5"], {}, undefined, ["http-port"]],
      [[], {}, "[http]\nport = nope\n", ["http-port", "nope"]],
      [["--log-level=loud"], {}, undefined, ["log-level", "loud"]],
      [["--url=ftp://example.com"], {}, undefined, ["url", "ftp://example.com", "http"]],
      [["--url=example.com"], {}, undefined, ["url"]],
      [["--cache-prune-days=soon"], {}, undefined, ["cache-prune-days", "soon"]],
      [["--network=yes"], {}, undefined, ["network", "'yes'", "off, opt-in or on"]],
      [[], {}, "[local]\nnetwork = always\n", ["network", "CONTREE_MCP_NETWORK", "always"]]
    ]
    for (const [argv, env, ini, expected] of cases) {
      const message = failure(argv, env, ini)
      for (const part of expected) assert.include(message, part, `${argv.join(" ")} ${JSON.stringify(env)}`)
    }
  })

  it("refuses unknown flags and positional arguments", () => {
    assert.include(failure(["--colour=red"]), "--colour")
    assert.include(failure(["serve", "now"]), "--help")
  })

  it("keeps the token redacted in every text form of the config, trimmed", () => {
    const config = serve(["--token", "  sup3r-s3cret  "])
    assert.strictEqual(tokenOf(config), "sup3r-s3cret")
    for (const text of [String(config), JSON.stringify(config), inspect(config, { depth: 10 }), String(config.token)]) {
      assert.notInclude(text, "sup3r-s3cret")
    }
  })
})
