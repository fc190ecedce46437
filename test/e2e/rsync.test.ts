// contree_rsync over stdio against the fake API: a generated tree of 1,000 files, resyncs, and a
// run that sees the synced files.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { backdate, isRoot } from "../support/tree.js"
import { binPath, callError, callOk, sandboxEnv } from "./harness.js"

// Root reads a mode-000 file, so when the suite runs as root the server runs as `nobody` (through
// setpriv), as a real user's server would: then an unreadable file really is unreadable.
const NOBODY = 65534
const hasSetpriv = (() => {
  try {
    execFileSync("setpriv", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()
const dropPrivileges = isRoot && hasSetpriv
const canHideFile = !isRoot || dropPrivileges

const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex")

let fake: FakeContreeApi
let client: Client
let home: string
let scratch: string
let source: string
/** What must reach the server: relative path -> content. */
const synced = new Map<string, Buffer>()
/** Contents of excluded files, which must never reach the server. */
const excludedContents: Array<string> = []

const put = (path: string, content: string | Buffer, into?: Map<string, Buffer>) => {
  mkdirSync(dirname(join(source, path)), { recursive: true })
  writeFileSync(join(source, path), content)
  into?.set(path, Buffer.from(content))
}

/** 1,000 files to sync, plus what must be excluded or skipped. */
const generateTree = () => {
  put(".gitignore", "*.log\nbuild/\n", synced)
  put("bin/run.sh", "#!/bin/sh\necho run\n", synced)
  chmodSync(join(source, "bin/run.sh"), 0o755)
  for (let p = 0; p < 20; p++) {
    put(`src/pkg${p}/__init__.py`, "", synced)
    for (let m = 0; m < 45; m++) put(`src/pkg${p}/mod${m}.py`, `# pkg ${p} mod ${m}\nVALUE = ${p * 100 + m}\n`, synced)
  }
  for (let i = 0; i < 78; i++) put(`data/blob${i}.bin`, Buffer.alloc((i + 1) * 997, i), synced)

  const excluded = {
    "__pycache__/top.cpython-311.pyc": "top pyc",
    "src/pkg3/__pycache__/mod0.cpython-311.pyc": "nested pyc",
    "src/pkg3/deep/__pycache__/x.cpython-311.pyc": "deeper pyc",
    "debug.log": "gitignored log",
    "src/pkg1/trace.log": "nested gitignored log",
    "build/out.bin": "gitignored build output"
  }
  for (const [path, content] of Object.entries(excluded)) {
    put(path, content)
    excludedContents.push(content)
  }
  symlinkSync("src/pkg0/mod0.py", join(source, "latest"))
  execFileSync("mkfifo", [join(source, "pipe")])
  if (canHideFile) {
    put("secret.txt", "not for you")
    excludedContents.push("not for you")
    chmodSync(join(source, "secret.txt"), 0)
  }
  backdate(source)
}

/**
 * The checkout may sit where `nobody` cannot reach (a mode-0700 temp dir, /root), so the server
 * it runs is a copy: the bundled CLI (bin.js and its chunks) plus the one native module it loads,
 * in a world-readable dir.
 */
const portableServer = (dir: string): string => {
  const modules = join(dirname(binPath), "..", "node_modules")
  const copy = (from: string, to: string) => cpSync(from, join(dir, to), { recursive: true })
  copy(binPath, "bin.js")
  copy(join(dirname(binPath), "chunks"), "chunks")
  for (const part of ["package.json", "lib", "build/Release/better_sqlite3.node"]) copy(join(modules, "better-sqlite3", part), `node_modules/better-sqlite3/${part}`)
  for (const name of ["bindings", "file-uri-to-path"]) copy(join(modules, name), `node_modules/${name}`)
  execFileSync("chmod", ["-R", "a+rX", dir])
  return join(dir, "bin.js")
}

const connect = async () => {
  const sandbox = sandboxEnv({ url: fake.url, token: fake.token })
  home = sandbox.home
  if (dropPrivileges) chownSync(home, NOBODY, NOBODY)
  const command = dropPrivileges ? "setpriv" : process.execPath
  const args = dropPrivileges
    ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", process.execPath, portableServer(join(scratch, "server"))]
    : [binPath]
  const transport = new StdioClientTransport({ command, args, env: sandbox.env, stderr: "pipe" })
  const mcp = new Client({ name: "contree-e2e-rsync", version: "1.0.0" })
  await mcp.connect(transport)
  await mcp.listTools()
  return mcp
}

const requestsSince = (mark: number) => fake.requests.slice(mark).map((r) => `${r.method} ${r.path}`)
const rsync = (extra: Record<string, unknown> = {}) =>
  callOk(client, "contree_rsync", { source, destination: "/app", exclude: ["__pycache__/"], ...extra })
const busybox = () => [...fake.state.images.values()].find((image) => image.tag === "busybox:latest")!.uuid

beforeAll(async () => {
  fake = await startFakeContreeApi({ pendingMs: 10, executingMs: 10 })
  scratch = mkdtempSync(join(tmpdir(), "contree-e2e-rsync-"))
  chmodSync(scratch, 0o755)
  source = join(scratch, "project")
  generateTree()
  client = await connect()
})

afterAll(async () => {
  await client?.close()
  await fake?.close()
  rmSync(scratch, { recursive: true, force: true })
  if (home !== undefined) rmSync(home, { recursive: true, force: true })
})

describe("contree_rsync end to end", () => {
  let id: number

  it("syncs the 1,000 files: counts, skips with reasons, and exactly the right contents on the server", async () => {
    const mark = fake.requests.length
    const result = await rsync()
    id = result.directory_state_id
    const contents = new Set([...synced.values()].map((content) => sha(content)))
    const bytes = [...synced.values()].reduce((sum, content) => sum + content.length, 0)
    expect(result).toMatchObject({
      directory_state_id: 1,
      source,
      destination: "/app",
      files: 1000,
      bytes,
      hashed: 1000,
      uploaded: contents.size,
      reused: 1000 - contents.size,
      removed: 0
    })
    expect(contents.size).toBe(981)
    const skipped = [
      { path: "latest", reason: "symlink" },
      { path: "pipe", reason: "fifo" },
      ...(canHideFile ? [{ path: "secret.txt", reason: "unreadable", detail: "EACCES" }] : [])
    ]
    expect(result.skipped_entries).toEqual(skipped)
    expect(result.skipped).toBe(skipped.length)

    const onServer = new Set([...fake.state.files.values()].map((file) => file.sha256))
    expect(onServer).toEqual(contents)
    for (const content of excludedContents) expect(onServer.has(sha(content))).toBe(false)
    const made = requestsSince(mark)
    expect(made.filter((r) => r === "POST /v1/files")).toHaveLength(981)
    expect(made.filter((r) => r === "GET /v1/files")).toHaveLength(981)
  })

  it("a second sync uploads nothing and asks the server nothing", async () => {
    const mark = fake.requests.length
    const result = await rsync()
    expect(result).toMatchObject({ directory_state_id: id, files: 1000, hashed: 0, uploaded: 0, reused: 1000, removed: 0 })
    expect(requestsSince(mark)).toEqual([])
  })

  it("one changed file causes one lookup and one upload; a deleted file disappears", async () => {
    writeFileSync(join(source, "src/pkg2/mod5.py"), "VALUE = 'changed'\n")
    rmSync(join(source, "src/pkg4/mod1.py"))
    const mark = fake.requests.length
    const result = await rsync()
    expect(result).toMatchObject({ directory_state_id: id, files: 999, hashed: 1, uploaded: 1, reused: 998, removed: 1 })
    expect(requestsSince(mark)).toEqual(["GET /v1/files", "POST /v1/files"])
    expect(fake.requests.at(-2)?.query).toEqual({ sha256: sha("VALUE = 'changed'\n") })
  })

  it("a run with the directory_state_id sees the files at their paths with their modes", async () => {
    const result = await callOk(client, "contree_run", {
      command: "cat /app/src/pkg2/mod5.py; stat -c '%a %n' /app/bin/run.sh /app/src/pkg0/mod0.py; ls /app/src/pkg4 | head -n 3; ls -a /app",
      image: busybox(),
      directory_state_id: id
    })
    expect(result.exit_code).toBe(0)
    expect(result.stdout).toBe(
      "VALUE = 'changed'\n" +
        "755 /app/bin/run.sh\n644 /app/src/pkg0/mod0.py\n" +
        "__init__.py\nmod0.py\nmod10.py\n" +
        ".gitignore\nbin\ndata\nsrc\n"
    )
    const spawned = fake.state.operations.get(result.operation_id)?.metadata as { files: Record<string, { uuid: string; mode: string }> }
    expect(Object.keys(spawned.files)).toHaveLength(999)
    expect(spawned.files["/app/bin/run.sh"]?.mode).toBe("0755")
    expect(spawned.files["/app/src/pkg4/mod1.py"]).toBeUndefined()
    const byUuid = new Map([...fake.state.files.values()].map((file) => [file.uuid, file.sha256]))
    for (const [path, content] of synced) {
      if (path === "src/pkg4/mod1.py" || path === "src/pkg2/mod5.py") continue
      expect(byUuid.get(spawned.files[`/app/${path}`]!.uuid)).toBe(sha(content))
    }
  })

  it("a different exclude set is a different state; .gitignore can be turned off", async () => {
    const result = await rsync({ exclude: [], gitignore: false, destination: "/other" })
    expect(result.directory_state_id).not.toBe(id)
    // Everything but the symlink, FIFO and unreadable file: 999 + 3 .pyc + 3 gitignored files.
    expect(result.files).toBe(1005)
  })

  it("an unknown directory_state_id is an error that says how to get one", async () => {
    const text = await callError(client, "contree_run", { command: "ls", image: busybox(), directory_state_id: 999 })
    expect(text).toContain("directory_state_id 999 is unknown")
    expect(text).toContain("contree_rsync")
  })

  it("a relative or missing source is refused", async () => {
    expect(await callError(client, "contree_rsync", { source: "project", destination: "/app" })).toContain("absolute")
    expect(await callError(client, "contree_rsync", { source: join(scratch, "missing"), destination: "/app" }))
      .toContain("source path does not exist")
  })
})
