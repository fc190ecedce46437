import { describe, it, expect } from "vitest"
import { guideSectionNames, guides, isGuideSection } from "../src/content/guides.js"
import { serverInstructions } from "../src/content/instructions.js"
import { firstPackageName, prompts, registryUrlFor, suggestEnvironmentTag } from "../src/content/prompts.js"

const toolBaseNames = [
  "list_images",
  "registry_token_obtain",
  "registry_auth",
  "import_image",
  "get_image",
  "set_tag",
  "run",
  "rsync",
  "upload",
  "download",
  "get_operation",
  "list_operations",
  "wait_operations",
  "cancel_operation",
  "list_files",
  "read_file",
  "get_guide",
]

/** Tool names used without the `contree_` prefix. Single words are only flagged when used like a call or code. */
const unprefixedToolMentions = (text: string): string[] => {
  const hits: string[] = []
  for (const name of toolBaseNames) {
    const patterns = name.includes("_")
      ? [new RegExp(`(?<![\\w])${name}(?![\\w])`, "g")]
      : [new RegExp(`(?<![\\w])${name}\\(`, "g"), new RegExp("`" + name + "`", "g")]
    for (const re of patterns) for (const m of text.matchAll(re)) hits.push(`${m[0]} @${m.index}`)
  }
  return hits
}

/** Status names that are not the API's upper-case ones. */
const badStatusMentions = (text: string): string[] => [
  ...Array.from(text.matchAll(/\brunning\b/gi), (m) => m[0]),
  ...Array.from(text.matchAll(/[`"'](pending|assigned|executing|success|failed|running)[`"']/g), (m) => m[0]),
  ...Array.from(text.matchAll(/status\s*[=:]\s*["'`]?[a-z]+/g), (m) => m[0]),
]

const requiredOnly = (name: string): Record<string, string> => {
  const prompt = prompts.find((p) => p.name === name)
  if (prompt === undefined) throw new Error(`no prompt ${name}`)
  return Object.fromEntries(prompt.arguments.filter((a) => a.required).map((a) => [a.name, `ARG-${a.name}`]))
}

const render = (name: string, args: Readonly<Record<string, string | undefined>>): string => {
  const prompt = prompts.find((p) => p.name === name)
  if (prompt === undefined) throw new Error(`no prompt ${name}`)
  return prompt.render(args)
}

const wordCount = (s: string): number => s.split(/\s+/).filter((w) => w !== "").length

describe("guides", () => {
  const expectedHeadings: Record<string, string> = {
    workflow: "ConTree Workflow Guide",
    reference: "Tools Reference",
    quickstart: "Quickstart",
    state: "State Management",
    async: "Async Execution",
    tagging: "Tagging Convention",
    errors: "Error Handling",
  }

  it("lists the seven sections, sorted", () => {
    expect([...guideSectionNames]).toEqual(Object.keys(expectedHeadings).sort())
    expect(Object.keys(guides).sort()).toEqual([...guideSectionNames])
    expect(isGuideSection("workflow")).toBe(true)
    expect(isGuideSection("nope")).toBe(false)
  })

  it.each(guideSectionNames)("%s starts with its heading and is consistent", (section) => {
    const guide = guides[section]
    expect(guide.section).toBe(section)
    const firstHeading = guide.content.split("\n").find((l) => l.startsWith("# "))
    expect(firstHeading).toBe(`# ${expectedHeadings[section]}`)
    expect(guide.title).toContain(expectedHeadings[section] === "ConTree Workflow Guide" ? "Workflow" : expectedHeadings[section])
    expect(guide.description.length).toBeGreaterThan(0)
    expect(wordCount(guide.content)).toBeGreaterThan(200)
    expect(wordCount(guide.content)).toBeLessThan(650)
  })

  it.each(guideSectionNames)("%s names tools only with the contree_ prefix and uses upper-case statuses", (section) => {
    const content = guides[section].content
    expect(unprefixedToolMentions(content)).toEqual([])
    expect(badStatusMentions(content)).toEqual([])
    expect(content).not.toMatch(/microVM|\[TRUNCATED\]|ds_[a-z0-9]/i)
  })

  it("documents the real result fields", () => {
    expect(guides.async.content).toContain("`cancelled`")
    expect(guides.async.content).not.toMatch(/\bpending\b/)
    for (const s of ["PENDING", "ASSIGNED", "EXECUTING", "SUCCESS", "FAILED", "CANCELLED"]) {
      expect(guides.async.content).toContain(s)
    }
    expect(guides.errors.content).toContain("stdout_truncated")
    expect(guides.errors.content).toContain("timed_out")
    expect(guides.reference.content).toContain("result_image")
    expect(guides.reference.content).toContain("gitignore")
    expect(guides.tagging.content).toContain("{scope}/{purpose}/{base}:{tag}")
  })
})

describe("server instructions", () => {
  it("has the required sections", () => {
    expect(serverInstructions).toContain("MANDATORY WORKFLOW")
    expect(serverInstructions).toMatch(/^## Guides$/m)
    expect(serverInstructions).toContain("{scope}/{purpose}/{base}:{tag}")
    expect(serverInstructions).toContain("contree_list_files")
    expect(serverInstructions).toContain("contree_read_file")
    for (const section of guideSectionNames) {
      expect(serverInstructions).toContain(`contree://guide/${section}`)
      expect(serverInstructions).toContain(`contree_get_guide(section="${section}")`)
    }
  })

  it("is short and uses prefixed tool names", () => {
    expect(wordCount(serverInstructions)).toBeLessThanOrEqual(360)
    expect(unprefixedToolMentions(serverInstructions)).toEqual([])
    expect(badStatusMentions(serverInstructions)).toEqual([])
  })
})

describe("prompts", () => {
  const expected: Record<string, Record<string, string | undefined>> = {
    "prepare-environment": { task: undefined, base: "python:3.11-slim", project: undefined, packages: undefined },
    "run-python": { code: undefined },
    "run-shell": { command: undefined, image: "ubuntu:noble" },
    "sync-and-run": { source: undefined, command: undefined, image: "alpine:latest" },
    "install-packages": { packages: undefined, image: "ubuntu:noble" },
    "parallel-tasks": { tasks: undefined, image: "ubuntu:noble" },
    "build-project": { source: undefined, install_cmd: "pip install -e .", test_cmd: "pytest" },
    "debug-failure": { operation_id: undefined },
    "inspect-image": { image: undefined },
    "multi-stage-build": {
      source: undefined,
      install_cmd: "pip install -e .",
      build_cmd: "python -m build",
      test_cmd: "pytest",
    },
  }
  const requiredArgs: Record<string, string[]> = {
    "prepare-environment": ["task"],
    "run-python": ["code"],
    "run-shell": ["command"],
    "sync-and-run": ["source", "command"],
    "install-packages": ["packages"],
    "parallel-tasks": ["tasks"],
    "build-project": ["source"],
    "debug-failure": ["operation_id"],
    "inspect-image": ["image"],
    "multi-stage-build": ["source"],
  }

  it("has the ten prompts with their arguments and defaults", () => {
    expect(prompts.map((p) => p.name).sort()).toEqual(Object.keys(expected).sort())
    for (const p of prompts) {
      expect(p.arguments.map((a) => a.name)).toEqual(Object.keys(expected[p.name] ?? {}))
      expect(p.arguments.filter((a) => a.required).map((a) => a.name)).toEqual(requiredArgs[p.name])
      for (const a of p.arguments) {
        expect(a.default).toBe(expected[p.name]?.[a.name])
        if (a.required) expect(a.default).toBeUndefined()
      }
      expect(p.title.length).toBeGreaterThan(0)
      expect(p.description.length).toBeGreaterThan(0)
    }
  })

  it.each(prompts.map((p) => p.name))("%s renders with only required args and embeds them", (name) => {
    const text = render(name, requiredOnly(name))
    for (const value of Object.values(requiredOnly(name))) expect(text).toContain(value)
    expect(text).toMatch(/contree_[a-z_]+/)
    expect(unprefixedToolMentions(text)).toEqual([])
    expect(badStatusMentions(text)).toEqual([])
    const prompt = prompts.find((p) => p.name === name)
    for (const a of prompt?.arguments ?? []) if (a.default !== undefined) expect(text).toContain(a.default)
  })

  it.each(prompts.map((p) => p.name))("%s embeds every argument when all are given", (name) => {
    const prompt = prompts.find((p) => p.name === name)
    const args = Object.fromEntries((prompt?.arguments ?? []).map((a) => [a.name, `VAL-${a.name.replace("_", "-")}`]))
    const text = render(name, args)
    for (const value of Object.values(args)) expect(text).toContain(value)
  })

  it("rejects a missing required argument", () => {
    expect(() => render("run-shell", {})).toThrow(/command/)
  })

  it("treats empty optional arguments as missing", () => {
    expect(render("run-shell", { command: "ls", image: "" })).toContain("ubuntu:noble")
  })

  it("prepare-environment derives the suggested tag", () => {
    expect(render("prepare-environment", { task: "train" })).toContain("common/custom-env/python:3.11-slim")
    const text = render("prepare-environment", {
      task: "train a model",
      project: "myproj",
      packages: "numpy==1.26 pandas",
      base: "python:3.12-slim",
    })
    expect(text).toContain("myproj/numpy-env/python:3.12-slim")
    expect(text).toContain("train a model")
    expect(render("prepare-environment", { task: "t", packages: "uvicorn[standard] fastapi" })).toContain(
      "common/uvicorn-env/python:3.11-slim",
    )
    expect(firstPackageName("requests>=2")).toBe("requests")
    expect(firstPackageName("  ")).toBeUndefined()
    expect(suggestEnvironmentTag("alpine:latest")).toBe("common/custom-env/alpine:latest")
  })

  it("run-python embeds the code and mentions python and run", () => {
    const text = render("run-python", { code: "print('hello world')" })
    expect(text).toContain("print('hello world')")
    expect(text.toLowerCase()).toContain("python")
    expect(text).toContain("contree_run")
  })

  it("run-shell uses the default image and honours a custom one", () => {
    const text = render("run-shell", { command: "echo hi" })
    expect(text).toContain("echo hi")
    expect(text).toContain("tag:ubuntu:noble")
    expect(text).toContain("docker://docker.io/library/ubuntu:noble")
    const custom = render("run-shell", { command: "echo hi", image: "debian:bookworm" })
    expect(custom).toContain("tag:debian:bookworm")
    expect(custom).not.toContain("ubuntu:noble")
  })

  it("sync-and-run mentions rsync, /app and the standard excludes", () => {
    const text = render("sync-and-run", { source: "/home/me/proj", command: "make test" })
    expect(text).toContain("/home/me/proj")
    expect(text).toContain("make test")
    expect(text).toContain("contree_rsync")
    expect(text).toContain('destination="/app"')
    expect(text).toContain('cwd="/app"')
    expect(text).toContain("alpine:latest")
    for (const e of [".git", "node_modules", "__pycache__"]) expect(text).toContain(e)
    expect(render("sync-and-run", { source: "/s", command: "c", image: "node:20" })).toContain("tag:node:20")
  })

  it("install-packages uses pip install with disposable=false", () => {
    const text = render("install-packages", { packages: "numpy pandas" })
    expect(text).toContain("pip install numpy pandas")
    expect(text).toContain("disposable=false")
    expect(text).toContain("common/numpy-env/ubuntu:noble")
    expect(render("install-packages", { packages: "x", image: "python:3.12" })).toContain("python:3.12")
  })

  it("parallel-tasks launches with wait=false and collects with contree_wait_operations", () => {
    const text = render("parallel-tasks", { tasks: "echo one\n\necho two\n" })
    expect(text).toContain("echo one")
    expect(text).toContain("echo two")
    expect(text).toContain("wait=false")
    expect(text).toContain("contree_wait_operations")
    expect(text).toContain("these 2 tasks")
    expect(render("parallel-tasks", { tasks: "a", image: "alpine:3.20" })).toContain("alpine:3.20")
  })

  it("build-project uses the default and custom commands", () => {
    const text = render("build-project", { source: "/src/app" })
    expect(text).toContain("/src/app")
    expect(text).toContain("pip install -e .")
    expect(text).toContain("pytest")
    const custom = render("build-project", { source: "/s", install_cmd: "npm ci", test_cmd: "npm test" })
    expect(custom).toContain("npm ci")
    expect(custom).toContain("npm test")
    expect(custom).not.toContain(`command="pytest"`)
  })

  it("inspect-image prefers the free tools and normalises references", () => {
    const text = render("inspect-image", { image: "common/python-ml/python:3.11-slim" })
    expect(text).toContain("contree_list_files")
    expect(text).toContain("contree_read_file")
    expect(text).toContain('image="tag:common/python-ml/python:3.11-slim"')
    expect(text).toContain("contree://image/tag:common%2Fpython-ml%2Fpython:3.11-slim/lineage")
    const uuid = "0b5c3f0e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"
    expect(render("inspect-image", { image: uuid })).toContain(`image="${uuid}"`)
  })

  it("multi-stage-build keeps each stage as a checkpoint", () => {
    const text = render("multi-stage-build", { source: "/p" })
    expect(text).toContain("python -m build")
    expect(text).toContain("pip install -e .")
    expect(text).toContain("pytest")
    expect(text).toContain("disposable=false")
  })

  it("debug-failure checks exit code, stderr and timed_out", () => {
    const text = render("debug-failure", { operation_id: "op-123" })
    expect(text).toContain('contree_get_operation(operation_id="op-123")')
    for (const s of ["exit_code", "stderr", "timed_out"]) expect(text).toContain(s)
  })

  it("builds registry URLs for library and namespaced images", () => {
    expect(registryUrlFor("alpine:latest")).toBe("docker://docker.io/library/alpine:latest")
    expect(registryUrlFor("bitnami/redis:7")).toBe("docker://docker.io/bitnami/redis:7")
    expect(registryUrlFor("ghcr.io/org/img:1")).toBe("docker://ghcr.io/org/img:1")
  })
})
