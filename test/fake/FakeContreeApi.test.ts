import { createHash } from "node:crypto"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type FakeContreeApi, startFakeContreeApi } from "./FakeContreeApi.js"

interface StreamBody {
  value: string
  encoding: "ascii" | "base64"
  truncated: boolean
}

interface OperationBody {
  uuid: string
  status: string
  kind: string
  error: string | null
  created_at: string
  duration: number
  metadata: {
    image?: string
    files?: Record<string, { uuid: string; mode: string; uid: number; gid: number }>
    registry?: { url: string }
    result?: {
      state: { exit_code: number; timed_out: boolean; signal: number }
      resources: Record<string, number>
      stdout: StreamBody
      stderr: StreamBody
    } | null
  } | null
  result: { image: string | null; tag: string | null } | null
  result_image_uuid: string | null
}

interface ImageBody {
  uuid: string
  tag: string | null
  created_at: string
}

const TERMINAL = new Set(["SUCCESS", "FAILED", "CANCELLED"])

let api: FakeContreeApi

const request = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${api.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json", ...init.headers }
  })

const getJson = async <T>(path: string): Promise<T> => {
  const response = await request(path)
  expect(response.status, `GET ${path}`).toBe(200)
  return (await response.json()) as T
}

const sendJson = (method: string, path: string, body: unknown): Promise<Response> =>
  request(path, { method, body: JSON.stringify(body) })

const imageUuid = async (tag: string): Promise<string> => (await getJson<ImageBody>(`/inspect/?tag=${encodeURIComponent(tag)}`)).uuid

const waitFor = async (uuid: string): Promise<OperationBody> => {
  for (;;) {
    const operation = await getJson<OperationBody>(`/operations/${uuid}`)
    if (TERMINAL.has(operation.status)) return operation
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const spawn = async (body: Record<string, unknown>): Promise<string> => {
  const response = await sendJson("POST", "/instances", { image: "tag:busybox:latest", shell: true, ...body })
  expect(response.status).toBe(201)
  const { uuid } = (await response.json()) as { uuid: string }
  expect(response.headers.get("location")).toBe(`/v1/operations/${uuid}`)
  return uuid
}

const run = async (body: Record<string, unknown>) => {
  const operation = await waitFor(await spawn(body))
  expect(operation.status).toBe("SUCCESS")
  const result = operation.metadata?.result
  if (!result) throw new Error("no process result")
  return { operation, result }
}

const text = (stream: StreamBody): string =>
  stream.encoding === "base64" ? Buffer.from(stream.value, "base64").toString("utf8") : stream.value

const upload = async (content: string | Buffer): Promise<{ uuid: string; sha256: string; size: number }> => {
  const response = await request("/files", {
    method: "POST",
    body: content,
    headers: { "content-type": "application/octet-stream" }
  })
  expect(response.status).toBe(201)
  return (await response.json()) as { uuid: string; sha256: string; size: number }
}

beforeAll(async () => {
  api = await startFakeContreeApi()
})

afterAll(async () => {
  await api.close()
})

beforeEach(() => {
  api.reset()
})

describe("authentication", () => {
  it("rejects a missing or wrong bearer token with 401", async () => {
    for (const headers of [{}, { authorization: "Bearer nope" }]) {
      const response = await fetch(`${api.url}/v1/images`, { headers })
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual({ error: expect.any(String), status: 401 })
    }
  })

  it("answers unknown routes with a JSON 404", async () => {
    const response = await request("/nothing/here")
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ status: 404 })
  })

  it("reports the token on /whoami", async () => {
    const whoami = await getJson<Record<string, unknown>>("/whoami")
    expect(whoami).toMatchObject({ token_expiration: null, permissions: { list: true, spawn: true }, limits: { instance_max_timeout: 3600 } })
  })
})

describe("images", () => {
  it("lists the seeded images newest first", async () => {
    const { images } = await getJson<{ images: ImageBody[] }>("/images")
    expect(images.map((image) => image.tag)).toEqual(["ubuntu:noble", "python:3.11", "busybox:latest"])
    expect(images[0]?.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/)
  })

  it("filters by tag prefix, tagged, since/until and pages with limit/offset", async () => {
    const untagged = api.addImage({ files: { "/hello": "hi" } })
    const tags = async (query: string) =>
      (await getJson<{ images: ImageBody[] }>(`/images?${query}`)).images.map((image) => image.tag ?? image.uuid)
    expect(await tags("tag=python")).toEqual(["python:3.11"])
    expect(await tags("tagged=1")).toHaveLength(3)
    expect(await tags("tagged=0")).toEqual([untagged])
    expect(await tags("limit=1&offset=2")).toEqual(["python:3.11"])
    expect(await tags("since=90m&tagged=1")).toEqual(["ubuntu:noble"])
    expect(await tags("until=150m")).toEqual(["busybox:latest"])
    expect(await tags(`since=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`)).toEqual([untagged])
  })

  it("rejects an out-of-range limit and a malformed time bound", async () => {
    for (const limit of ["0", "1001"]) {
      const response = await request(`/images?limit=${limit}`)
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ error: "limit must be between 1 and 1000", status: 400 })
    }
    expect((await request("/images?since=yesterday")).status).toBe(400)
  })

  it("sets, moves and deletes tags", async () => {
    const busybox = await imageUuid("busybox:latest")
    const python = await imageUuid("python:3.11")

    const set = await sendJson("PATCH", `/images/${busybox}/tag`, { tag: "my/base:latest" })
    expect(set.status).toBe(200)
    expect(await set.json()).toMatchObject({ uuid: busybox, tag: "my/base:latest" })

    await sendJson("PATCH", `/images/${python}/tag`, { tag: "my/base:latest" })
    expect(await imageUuid("my/base:latest")).toBe(python)
    expect((await getJson<ImageBody>(`/inspect/${busybox}/`)).tag).toBeNull()

    const deleted = await request(`/images/${python}/tag`, { method: "DELETE" })
    expect(deleted.status).toBe(204)
    expect((await getJson<ImageBody>(`/inspect/${python}/`)).tag).toBeNull()
    expect((await request("/inspect/?tag=my%2Fbase%3Alatest")).status).toBe(404)
  })

  it("rejects malformed tags and unknown images", async () => {
    const busybox = await imageUuid("busybox:latest")
    for (const tag of ["bad:", "bad/", "bad.", "has space", "", "a:b:c"]) {
      expect((await sendJson("PATCH", `/images/${busybox}/tag`, { tag })).status, tag).toBe(400)
    }
    const unknown = await sendJson("PATCH", "/images/00000000-0000-0000-0000-000000000000/tag", { tag: "x" })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: "Image not found", status: 404 })
  })

  it("imports images from a registry", async () => {
    const response = await sendJson("POST", "/images/import", {
      registry: { url: "alpine", credentials: { username: "", password: "" } },
      tag: "alpine:imported",
      timeout: 300
    })
    expect(response.status).toBe(201)
    const { uuid } = (await response.json()) as { uuid: string }
    expect(response.headers.get("location")).toBe(`/v1/operations/${uuid}`)

    const operation = await waitFor(uuid)
    expect(operation).toMatchObject({ status: "SUCCESS", kind: "image_import", result: { tag: "alpine:imported" } })
    expect(operation.metadata).toEqual({ registry: { url: "alpine" }, tag: "alpine:imported", timeout: 300 })
    const image = operation.result?.image
    expect(await imageUuid("alpine:imported")).toBe(image)
    const osRelease = await (await request(`/inspect/${image}/download?path=/etc/os-release`)).text()
    expect(osRelease).toContain("docker://docker.io/library/alpine:latest")
  })

  it("fails imports of missing images and bad credentials", async () => {
    const start = async (registry: unknown) =>
      waitFor(((await (await sendJson("POST", "/images/import", { registry })).json()) as { uuid: string }).uuid)
    expect(await start({ url: "docker://ghcr.io/acme/notfound:1" })).toMatchObject({ status: "FAILED", error: "Image not found" })
    expect(await start({ url: "oci://ghcr.io/acme/app:1", credentials: { username: "bad", password: "x" } })).toMatchObject({
      status: "FAILED",
      error: "unauthorized"
    })
  })
})

describe("inspect", () => {
  it("resolves tags with a relative 302 and redirects slashless paths with 308", async () => {
    const python = (await getJson<{ images: ImageBody[] }>("/images?tag=python")).images[0]?.uuid
    const found = await request("/inspect/?tag=python:3.11", { redirect: "manual" })
    expect(found.status).toBe(302)
    expect(found.headers.get("location")).toBe(`${python}/`)

    const slashless = await request(`/inspect/${python}`, { redirect: "manual" })
    expect(slashless.status).toBe(308)
    expect(slashless.headers.get("location")).toBe(`/v1/inspect/${python}/`)

    expect(await getJson<ImageBody>("/inspect/?tag=python:3.11")).toMatchObject({ uuid: python, tag: "python:3.11" })
    expect(await request("/inspect/").then((response) => response.json())).toEqual({ error: "tag is required", status: 400 })
    expect((await request("/inspect/?tag=nope:1")).status).toBe(404)
  })

  it("lists directories as JSON with relative names and full st_mode", async () => {
    const busybox = await imageUuid("busybox:latest")
    const listing = await getJson<{ path: string; files: Array<Record<string, unknown>> }>(`/inspect/${busybox}/list?path=/bin`)
    expect(listing.path).toBe("/bin")
    expect(listing.files).toEqual([
      expect.objectContaining({ path: "busybox", mode: 0o100755, is_regular: true, is_dir: false, symlink_to: "", owner: 0, group: 0 }),
      expect.objectContaining({ path: "sh", mode: 0o120777, is_symlink: true, symlink_to: "busybox", nlink: 1 })
    ])
    const etc = await getJson<{ files: Array<{ path: string; mode: number }> }>(`/inspect/${busybox}/list?path=/etc`)
    expect(etc.files.find((file) => file.path === "passwd")?.mode).toBe(33188)
  })

  it("lists directories as ls -l text", async () => {
    const busybox = await imageUuid("busybox:latest")
    const response = await request(`/inspect/${busybox}/list?path=/bin&text=`)
    expect(response.headers.get("content-type")).toContain("text/plain")
    const lines = (await response.text()).trimEnd().split("\n")
    expect(lines[0]).toMatch(/^total \d+\.\d\d +(B|KB)$/)
    expect(lines[1]).toMatch(/^-rwxr-xr-x 1 0 0 +\d+\.\d\d +B \w{3} \d\d \d\d:\d\d busybox$/)
    expect(lines[2]).toMatch(/^lrwxrwxrwx .* sh -> busybox$/)
  })

  it("reports missing directories with 404 and files with 422", async () => {
    const busybox = await imageUuid("busybox:latest")
    const missing = await request(`/inspect/${busybox}/list?path=/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: "Directory not found", status: 404 })
    expect((await request(`/inspect/${busybox}/list?path=/etc/passwd`)).status).toBe(422)
  })

  it("downloads raw bytes, accepts relative paths and answers HEAD", async () => {
    const ubuntu = await imageUuid("ubuntu:noble")
    const download = await request(`/inspect/${ubuntu}/download?path=etc/os-release`)
    expect(download.status).toBe(200)
    expect(download.headers.get("content-type")).toBe("application/octet-stream")
    const body = await download.text()
    expect(body).toContain("Ubuntu")
    expect(download.headers.get("content-length")).toBe(String(Buffer.byteLength(body)))

    const head = await request(`/inspect/${ubuntu}/download?path=/bin/sh`, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe("")
    expect((await request(`/inspect/${ubuntu}/download?path=/nope`, { method: "HEAD" })).status).toBe(404)

    const missing = await request(`/inspect/${ubuntu}/download?path=/nope`)
    expect(await missing.json()).toEqual({ error: "file not found", status: 404 })
    expect((await request(`/inspect/${ubuntu}/download?path=/etc`)).status).toBe(422)
  })
})

describe("files", () => {
  it("deduplicates uploads by sha256 and serves every lookup form", async () => {
    const content = "print('hello')\n"
    const sha256 = createHash("sha256").update(content).digest("hex")
    const first = await upload(content)
    expect(first).toEqual({ uuid: expect.any(String), sha256, size: content.length })
    expect((await upload(content)).uuid).toBe(first.uuid)

    expect(await getJson(`/files?sha256=${sha256}`)).toMatchObject({ uuid: first.uuid, sha256 })
    expect(await getJson(`/files/${sha256}`)).toMatchObject({ uuid: first.uuid, size: content.length })
    expect((await request(`/files?sha256=${sha256}`, { method: "HEAD" })).status).toBe(200)
    expect((await request(`/files?uuid=${first.uuid}`, { method: "HEAD" })).status).toBe(200)
    expect((await request(`/files?sha256=${"0".repeat(64)}`, { method: "HEAD" })).status).toBe(404)
    expect((await request(`/files/${"0".repeat(64)}`)).status).toBe(404)
    expect((await getJson<{ files: unknown[] }>("/files")).files).toEqual([expect.objectContaining({ uuid: first.uuid })])
  })

  it("accepts chunked uploads", async () => {
    const chunks = [Buffer.from("part one, "), Buffer.from("part two")]
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk)
        controller.close()
      }
    })
    const response = await request("/files", {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream" },
      duplex: "half"
    } as RequestInit)
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({ size: 18, sha256: createHash("sha256").update(Buffer.concat(chunks)).digest("hex") })
    expect(api.requests.at(-1)?.headers["transfer-encoding"]).toBe("chunked")
  })
})

describe("instances", () => {
  it("goes PENDING → EXECUTING → SUCCESS", async () => {
    const slow = await startFakeContreeApi({ pendingMs: 300, executingMs: 300 })
    try {
      const headers = { authorization: `Bearer ${slow.token}`, "content-type": "application/json" }
      const created = await fetch(`${slow.url}/v1/instances`, {
        method: "POST",
        headers,
        body: JSON.stringify({ command: "true", image: "tag:busybox:latest" })
      })
      const { uuid } = (await created.json()) as { uuid: string }
      const seen: string[] = []
      while (!TERMINAL.has(seen.at(-1) ?? "")) {
        const operation = (await (await fetch(`${slow.url}/v1/operations/${uuid}`, { headers })).json()) as OperationBody
        if (seen.at(-1) !== operation.status) seen.push(operation.status)
        if (operation.status === "PENDING") expect(operation.metadata?.result).toBeNull()
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(seen).toEqual(["PENDING", "EXECUTING", "SUCCESS"])
    } finally {
      await slow.close()
    }
  })

  it("returns stdout in metadata.result", async () => {
    const operation = await waitFor(await spawn({ command: "echo hello $NAME; pwd", env: { NAME: "world" }, disposable: true }))
    expect(operation).toMatchObject({ status: "SUCCESS", kind: "instance", error: null, result: { image: null, tag: null } })
    expect(operation.metadata?.result?.stdout).toEqual({ value: "hello world\n/root\n", encoding: "ascii", truncated: false })
    expect(operation.metadata?.result?.state).toMatchObject({ exit_code: 0, timed_out: false, signal: -1 })
    expect(Object.keys(operation.metadata?.result?.resources ?? {})).toHaveLength(16)
  })

  it("interprets the supported shell subset", async () => {
    const { result } = await run({
      command: [
        "cd /tmp && mkdir -p a/b && printf '%s-%s\\n' x y > a/b/f && cat a/b/f",
        "false || echo recovered; false && echo never",
        "test -d /tmp/a && [ -f /tmp/a/b/f ] && echo tests-ok",
        "cp a/b/f copy && mv copy moved && chmod 700 moved && stat -c %a moved",
        "echo 'single $HOME' \"double $HOME\"",
        "seq 3 | cat; head -c 4 /etc/passwd; echo",
        "missing-command; echo status=$?",
        "ls /bin; hostname; whoami; printenv HOME",
        "sh -c 'exit 4'; echo nested=$?"
      ].join("\n"),
      hostname: "box"
    })
    expect(text(result.stdout)).toBe(
      [
        "x-y",
        "recovered",
        "tests-ok",
        "700",
        "single $HOME double /root",
        "1\n2\n3\nroot",
        "status=127",
        "busybox\nsh\nbox\nroot\n/root",
        "nested=4\n"
      ].join("\n")
    )
    expect(text(result.stderr)).toBe("sh: missing-command: not found\n")
  })

  it("runs exec-mode commands with args", async () => {
    const { result } = await run({ command: "/bin/echo", args: ["-n", "a b", "$HOME"], shell: false })
    expect(result.stdout.value).toBe("a b $HOME")
  })

  it("feeds stdin and reports syntax errors like sh", async () => {
    const bytes = Buffer.from([0xde, 0xad, 0x0a])
    const piped = await run({ command: "cat", stdin: { value: bytes.toString("base64"), encoding: "base64", truncated: false } })
    expect(Buffer.from(piped.result.stdout.value, "base64")).toEqual(bytes)

    const broken = await run({ command: "echo 'unterminated" })
    expect(broken.result.state.exit_code).toBe(2)
    expect(broken.result.stderr.value).toBe("sh: syntax error: unterminated quoted string\n")
  })

  it("encodes non-ASCII output as base64", async () => {
    const { result } = await run({ command: "printf '\\xff\\x00ok\\t'" })
    expect(result.stdout.encoding).toBe("base64")
    expect(Buffer.from(result.stdout.value, "base64")).toEqual(Buffer.from([0xff, 0x00, 0x6f, 0x6b, 0x09]))
  })

  it("truncates each stream at truncate_output_at", async () => {
    const { result } = await run({ command: "seq 1000; seq 1000 >&2", truncate_output_at: 100 })
    expect(result.stdout.truncated).toBe(true)
    expect(result.stdout.value).toHaveLength(100)
    expect(result.stdout.value.startsWith("1\n2\n3\n")).toBe(true)
    expect(result.stderr).toMatchObject({ truncated: true })
  })

  it("times out a sleeping command, keeping the output so far", async () => {
    const started = Date.now()
    const { result } = await run({ command: "echo before; sleep 5; echo after", timeout: 0.3 })
    expect(Date.now() - started).toBeLessThan(3000)
    expect(result.state).toMatchObject({ timed_out: true, exit_code: -1 })
    expect(result.stdout.value).toBe("before\n")
  })

  it("reports non-zero exit codes as SUCCESS", async () => {
    const { operation, result } = await run({ command: "echo out; exit 7" })
    expect(operation.status).toBe("SUCCESS")
    expect(result.state.exit_code).toBe(7)
  })

  it("injects uploaded files with every mode form", async () => {
    const script = await upload("echo from-script\n")
    const data = await upload("payload")
    const { operation, result } = await run({
      command: "sh /opt/run.sh; cat /data/in.txt; echo; stat -c '%a %u' /opt/run.sh /data/in.txt",
      files: {
        "/opt/run.sh": { uuid: script.uuid, mode: "0o100755", uid: 0, gid: 0 },
        "/data/in.txt": { uuid: data.uuid, mode: 0o600, uid: 1000, gid: 1000 }
      },
      result: null
    })
    expect(text(result.stdout)).toBe("from-script\npayload\n755 0\n600 1000\n")
    expect(operation.metadata?.files?.["/opt/run.sh"]).toEqual({ uuid: script.uuid, mode: "0755", uid: 0, gid: 0 })
  })

  it("fails the operation when an injected file is unknown", async () => {
    const operation = await waitFor(await spawn({ command: "true", files: { "/x": { uuid: "no-such-file" } } }))
    expect(operation).toMatchObject({ status: "FAILED", error: "File not found: no-such-file" })
  })

  it("snapshots non-disposable runs into child images", async () => {
    const busybox = await imageUuid("busybox:latest")
    const { operation } = await run({ command: "echo data > /root/out.txt; rm -rf /tmp", image: busybox, disposable: false })
    const child = operation.result?.image
    expect(child).toBeTruthy()
    expect(child).not.toBe(busybox)
    expect(operation.result_image_uuid).toBe(child)
    expect(await (await request(`/inspect/${child}/download?path=/root/out.txt`)).text()).toBe("data\n")
    expect((await request(`/inspect/${child}/list?path=/tmp`)).status).toBe(404)
    expect(api.state.images.get(child as string)?.parent).toBe(busybox)
    expect((await request(`/inspect/${busybox}/download?path=/root/out.txt`)).status).toBe(404)

    const unchanged = await run({ command: "cat /etc/passwd", image: busybox, disposable: false })
    expect(unchanged.operation.result?.image).toBe(busybox)
  })

  it("isolates destructive runs", async () => {
    await run({ command: "rm -rf /", disposable: false })
    const { result } = await run({ command: "cat /etc/passwd" })
    expect(text(result.stdout)).toContain("root:x:0:0")
  })

  it("validates spawn requests", async () => {
    const invalid: Array<Record<string, unknown>> = [
      { image: "tag:busybox:latest" },
      { command: "true" },
      { command: "echo", image: "tag:busybox:latest", shell: true, args: ["x"] },
      { command: "true", image: "tag:busybox:latest", cwd: "relative" },
      { command: "true", image: "tag:busybox:latest", timeout: 0 },
      { command: "true", image: "tag:busybox:latest", files: { "/x": { uuid: "u", mode: "rwx" } } }
    ]
    for (const body of invalid) {
      const response = await sendJson("POST", "/instances", body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(await response.json()).toMatchObject({ error: expect.any(String), status: 400 })
    }
    const unknown = await sendJson("POST", "/instances", { command: "true", image: "tag:nope:1" })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: "Image not found", status: 404 })
  })
})

describe("operations", () => {
  it("cancels active operations with 202 and refuses terminal ones with 409", async () => {
    const imagesBefore = api.state.images.size
    const uuid = await spawn({ command: "sleep 10; echo late > /late", disposable: false })
    while ((await getJson<OperationBody>(`/operations/${uuid}`)).status !== "EXECUTING") await new Promise((r) => setTimeout(r, 5))

    const cancel = await request(`/operations/${uuid}`, { method: "DELETE" })
    expect(cancel.status).toBe(202)
    expect(await cancel.text()).toBe("")
    const operation = await getJson<OperationBody>(`/operations/${uuid}`)
    expect(operation).toMatchObject({ status: "CANCELLED", result: null, result_image_uuid: null })

    const again = await request(`/operations/${uuid}`, { method: "DELETE" })
    expect(again.status).toBe(409)
    expect(await again.json()).toEqual({ error: "operation is not cancellable", status: 409 })
    expect((await request("/operations/unknown", { method: "DELETE" })).status).toBe(404)
    expect(api.state.images.size).toBe(imagesBefore)
  })

  it("lists operations as a bare array with filters", async () => {
    const first = await waitFor(await spawn({ command: "true" }))
    const second = await waitFor(await spawn({ command: "true", files: { "/x": { uuid: "missing" } } }))
    const list = await getJson<Array<Record<string, unknown>>>("/operations")
    expect(Array.isArray(list)).toBe(true)
    expect(list.map((operation) => operation.uuid)).toEqual([second.uuid, first.uuid])
    expect(list[1]).toEqual({
      uuid: first.uuid,
      kind: "instance",
      status: "SUCCESS",
      error: null,
      created_at: first.created_at,
      duration: expect.any(Number),
      image_uuid: await imageUuid("busybox:latest"),
      result_image_uuid: first.result_image_uuid,
      ...{ image_size: 0, consumed_cpu: expect.any(Number), consumed_memory: 4096 } // the current generation's accounting
    })
    const uuids = async (query: string) => (await getJson<Array<{ uuid: string }>>(`/operations?${query}`)).map((operation) => operation.uuid)
    expect(await uuids("status=FAILED")).toEqual([second.uuid])
    expect(await uuids("kind=image_import")).toEqual([])
    expect(await uuids("limit=1&offset=1")).toEqual([first.uuid])
    expect(await uuids("since=1h")).toHaveLength(2)
    expect((await request("/operations?limit=0")).status).toBe(400)
    expect(await request("/operations/unknown").then((response) => response.json())).toEqual({ error: "Operation not found", status: 404 })
  })
})

describe("test controls", () => {
  it("injects faults for a number of matching requests", async () => {
    api.injectFault({ method: "GET", path: "/whoami", status: 503, times: 2 })
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await request("/whoami")).status)
    expect(statuses).toEqual([503, 503, 200])

    api.injectFault({ path: /^\/operations\//, status: 429, headers: { "retry-after": "1" }, body: "slow down" })
    const limited = await request("/operations/anything")
    expect(limited.headers.get("retry-after")).toBe("1")
    expect(await limited.text()).toBe("slow down")

    api.injectFault({ path: "/images", dropConnection: true, status: 0 })
    await expect(request("/images")).rejects.toThrow()
    expect((await request("/images")).status).toBe(200)
  })

  it("records requests", async () => {
    await sendJson("PATCH", "/images/x/tag", { tag: "a:b" })
    expect(api.requests.at(-1)).toMatchObject({ method: "PATCH", path: "/v1/images/x/tag", json: { tag: "a:b" }, bodyBytes: 13 })
  })

  it("resets to the seeded state with stable uuids", async () => {
    const busybox = await imageUuid("busybox:latest")
    await run({ command: "touch /new", disposable: false })
    api.addImage({ tag: "busybox:latest", files: { "/x": "y" } })
    api.reset()
    expect(api.state.images.size).toBe(3)
    expect(api.state.operations.size).toBe(0)
    expect(await imageUuid("busybox:latest")).toBe(busybox)
  })
})

describe("gzip mode", () => {
  it("compresses every response body", async () => {
    const gzipped = await startFakeContreeApi({ gzip: true, token: "zip" })
    try {
      const headers = { authorization: "Bearer zip" }
      const images = await fetch(`${gzipped.url}/v1/images`, { headers })
      expect(images.headers.get("content-encoding")).toBe("gzip")
      expect(((await images.json()) as { images: unknown[] }).images).toHaveLength(3)

      const error = await fetch(`${gzipped.url}/v1/operations/nope`, { headers })
      expect(error.headers.get("content-encoding")).toBe("gzip")
      expect(await error.json()).toEqual({ error: "Operation not found", status: 404 })
    } finally {
      await gzipped.close()
    }
  })
})
