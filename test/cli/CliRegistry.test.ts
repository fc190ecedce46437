import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { helpText, parseCli } from "../../src/cli/Cli.js"
import type { ContreeConfigShape } from "../../src/services/ContreeConfig.js"

const defaultIni = join(homedir(), ".config", "contree", "mcp.ini")

const serve = (argv: ReadonlyArray<string>, env: Record<string, string | undefined> = {}, ini?: string): ContreeConfigShape => {
  const parsed = parseCli(argv, env, (path) => (path === defaultIni ? ini : undefined))
  if (Either.isLeft(parsed)) return assert.fail(parsed.left)
  if (parsed.right._tag !== "Serve") return assert.fail(parsed.right._tag)
  return parsed.right.config
}

describe("registry settings", () => {
  it("default to ~/.config/contree/registry-credentials.json and no insecure registries", () => {
    const config = serve([])
    assert.strictEqual(config.registryCredentials, join(homedir(), ".config", "contree", "registry-credentials.json"))
    assert.deepStrictEqual(config.insecureRegistries, [])
  })

  it("come from a flag over the environment over [registry] in the INI file, with ~ expanded", () => {
    const ini = "[registry]\ncredentials = ~/ini-creds.json\ninsecure = ini.lan:5000\n"
    const env = { CONTREE_MCP_REGISTRY_CREDENTIALS: "/env/creds.json", CONTREE_MCP_INSECURE_REGISTRIES: "env.lan" }
    const fromIni = serve([], {}, ini)
    assert.strictEqual(fromIni.registryCredentials, join(homedir(), "ini-creds.json"))
    assert.deepStrictEqual(fromIni.insecureRegistries, ["ini.lan:5000"])
    const fromEnv = serve([], env, ini)
    assert.strictEqual(fromEnv.registryCredentials, "/env/creds.json")
    assert.deepStrictEqual(fromEnv.insecureRegistries, ["env.lan"])
    const fromFlag = serve(["--registry-credentials", "/flag/creds.json", "--insecure-registries", "flag.lan"], env, ini)
    assert.strictEqual(fromFlag.registryCredentials, "/flag/creds.json")
    assert.deepStrictEqual(fromFlag.insecureRegistries, ["flag.lan"])
  })

  it("split the insecure list on commas, dropping blanks and spaces", () => {
    assert.deepStrictEqual(serve(["--insecure-registries", " a.lan, b.lan:5000 ,,"]).insecureRegistries, ["a.lan", "b.lan:5000"])
  })

  it("are listed in --help", () => {
    const help = helpText()
    assert.include(help, "--registry-credentials")
    assert.include(help, "CONTREE_MCP_REGISTRY_CREDENTIALS")
    assert.include(help, "--insecure-registries")
    assert.include(help, "ini [registry] insecure")
  })
})
