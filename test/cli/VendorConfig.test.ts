import { assert, describe, it } from "@effect/vitest"
import { Either, Option, Redacted } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { parseCli } from "../../src/cli/Cli.js"
import { IAM_DEFAULT_URL } from "../../src/cli/VendorProfile.js"
import type { ContreeConfigShape } from "../../src/services/ContreeConfig.js"

const ownIni = join(homedir(), ".config", "contree", "mcp.ini")

/** Parses with `files` as the whole file system. */
const parse = (argv: ReadonlyArray<string>, env: Record<string, string>, files: Record<string, string>) =>
  parseCli(argv, env, (path) => files[path])

const config = (argv: ReadonlyArray<string>, env: Record<string, string>, files: Record<string, string> = {}): ContreeConfigShape => {
  const parsed = parse(argv, env, files)
  if (Either.isLeft(parsed)) return assert.fail(parsed.left)
  return parsed.right._tag === "Serve" ? parsed.right.config : assert.fail(parsed.right._tag)
}

const failure = (argv: ReadonlyArray<string>, env: Record<string, string>, files: Record<string, string> = {}) =>
  Either.getLeft(parse(argv, env, files)).pipe(Option.getOrElse(() => assert.fail("expected a failure")))

/** What a test reads of a configuration: the backend and where and as whom it goes. */
const target = (c: ContreeConfigShape) => ({
  backend: c.backend,
  url: c.url,
  token: Option.getOrUndefined(Option.map(c.token, Redacted.value)),
  project: Option.getOrUndefined(c.project)
})

const HOME = "/cfg"
const auth = (text: string) => ({ [join(HOME, "auth.ini")]: text })
const env = (vars: Record<string, string> = {}) => ({ CONTREE_HOME: HOME, ...vars })

const profiles = `[DEFAULT]
profile = work

[profile:work]
url = https://work.example.com
token = work-token

[profile:team]
type = iam
token = team-token
project = proj-1
`

describe("configuration as the vendor's tools read it", () => {
  it("an auth.ini jwt profile alone selects the cloud backend at its URL", () => {
    assert.deepStrictEqual(target(config([], env(), auth(profiles))), {
      backend: "cloud",
      url: "https://work.example.com",
      token: "work-token",
      project: undefined
    })
  })

  it("CONTREE_TOKEN and CONTREE_URL alone select the cloud backend at that URL", () => {
    assert.deepStrictEqual(target(config([], { CONTREE_TOKEN: "env-token", CONTREE_URL: "https://env.example.com" })), {
      backend: "cloud",
      url: "https://env.example.com",
      token: "env-token",
      project: undefined
    })
  })

  it("an mcp.ini alone still does", () => {
    assert.deepStrictEqual(target(config([], {}, { [ownIni]: "[DEFAULT]\nurl = https://own.example.com\ntoken = own-token\n" })), {
      backend: "cloud",
      url: "https://own.example.com",
      token: "own-token",
      project: undefined
    })
  })

  it("an IAM profile sends its project and defaults to the IAM URL; the profile is chosen by flag, then environment, then [DEFAULT]", () => {
    const team = { backend: "cloud" as const, url: IAM_DEFAULT_URL, token: "team-token", project: "proj-1" }
    assert.deepStrictEqual(target(config(["--profile", "team"], env(), auth(profiles))), team)
    assert.deepStrictEqual(target(config([], env({ CONTREE_PROFILE: "team" }), auth(profiles))), team)
    assert.strictEqual(config(["--profile", "work"], env({ CONTREE_PROFILE: "team" }), auth(profiles)).url, "https://work.example.com")
  })

  it("layers the environment over the profile field by field: CONTREE_TOKEN alone rotates the token", () => {
    assert.deepStrictEqual(target(config([], env({ CONTREE_TOKEN: "rotated" }), auth(profiles))), {
      backend: "cloud",
      url: "https://work.example.com",
      token: "rotated",
      project: undefined
    })
    assert.strictEqual(Option.getOrUndefined(config(["--profile", "team"], env({ CONTREE_PROJECT: "proj-2" }), auth(profiles)).project), "proj-2")
  })

  it("ours win over the vendor's where both are set: flags, then CONTREE_MCP_*, then CONTREE_*, then mcp.ini, then auth.ini", () => {
    const files = { ...auth(profiles), [ownIni]: "token = own-token\nurl = https://own.example.com\n" }
    assert.strictEqual(target(config([], env(), files)).token, "own-token")
    assert.strictEqual(target(config([], env({ CONTREE_TOKEN: "vendor-env" }), files)).token, "vendor-env")
    assert.strictEqual(target(config([], env({ CONTREE_TOKEN: "vendor-env", CONTREE_MCP_TOKEN: "own-env" }), files)).token, "own-env")
    assert.strictEqual(target(config(["--token", "flag"], env({ CONTREE_MCP_TOKEN: "own-env" }), files)).token, "flag")
    assert.strictEqual(target(config([], env({ CONTREE_URL: "https://vendor-env.example.com" }), files)).url, "https://vendor-env.example.com")
  })

  it("takes NEBIUS_API_KEY only together with NEBIUS_AI_PROJECT, as an IAM identity", () => {
    assert.deepStrictEqual(target(config([], { NEBIUS_API_KEY: "key", NEBIUS_AI_PROJECT: "p" })), {
      backend: "cloud",
      url: IAM_DEFAULT_URL,
      token: "key",
      project: "p"
    })
    assert.deepStrictEqual(target(config([], { NEBIUS_API_KEY: "key" })).backend, "local")
    assert.strictEqual(target(config([], { NEBIUS_API_KEY: "key", NEBIUS_AI_PROJECT: "p", CONTREE_TOKEN: "t" })).token, "t")
    // Never sent to a URL that a file set up for another token.
    const withOwnIni = config([], { NEBIUS_API_KEY: "key", NEBIUS_AI_PROJECT: "p" }, { [ownIni]: "url = https://contree.dev\ntoken = own\n" })
    assert.deepStrictEqual([withOwnIni.url, Option.getOrUndefined(Option.map(withOwnIni.token, Redacted.value))], [IAM_DEFAULT_URL, "key"])
  })

  it("reads cli.ini defaults under auth.ini, and finds the files in XDG_CONFIG_HOME without CONTREE_HOME", () => {
    const files = {
      [join("/xdg", "contree", "cli.ini")]: "[DEFAULT]\nprofile = work\n[profile:work]\nurl = https://from-cli-ini.example.com\n",
      [join("/xdg", "contree", "auth.ini")]: "[profile:work]\ntoken = secret\n"
    }
    assert.deepStrictEqual(target(config([], { XDG_CONFIG_HOME: "/xdg" }, files)), {
      backend: "cloud",
      url: "https://from-cli-ini.example.com",
      token: "secret",
      project: undefined
    })
  })

  it("names the problem: a missing profile, a jwt profile without url, an unknown type", () => {
    assert.include(failure(["--profile", "nope"], env(), auth(profiles)), "profile 'nope' (from --profile) is not in /cfg/auth.ini")
    assert.include(failure([], env({ CONTREE_PROFILE: "nope" }), auth(profiles)), "(from CONTREE_PROFILE)")
    assert.include(failure([], env(), auth("[DEFAULT]\nprofile = gone\n")), "has no [profile:gone] section")
    assert.include(failure([], env(), auth("[DEFAULT]\nprofile = x\n[profile:x]\ntoken = t\n")), "jwt profile without a url")
    assert.include(failure([], env(), auth("[DEFAULT]\nprofile = x\n[profile:x]\ntype = oauth\nurl = https://x\n")), "invalid type 'oauth'")
    // A jwt profile without url is fine when the url comes from elsewhere.
    assert.strictEqual(config([], env({ CONTREE_URL: "https://u.example.com" }), auth("[DEFAULT]\nprofile = x\n[profile:x]\ntoken = t\n")).url, "https://u.example.com")
  })

  it("never lets a profile's token into an error message", () => {
    const message = failure([], env(), auth("[DEFAULT]\nprofile = x\n[profile:x]\ntoken = very-secret\ntype = weird\n"))
    assert.notInclude(message, "very-secret")
  })
})
