// The local engine end to end, reached two ways: the built server with `--backend local --data-dir <tmp>`,
// and the built server on the cloud backend pointed at `contree-mcp serve` on that data dir. Both are
// driven over stdio by the SDK client and run real bubblewrap sandboxes. Host processes are checked in
// /proc; nothing is judged by how long it took.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { binPath, callError, callOk, type Connected, connectLocal, connectStdio, engineBackends, sandboxEnv, toolNames, waitFor } from "./harness.js"
import { marker, processesRunning, processesWith } from "./localProcesses.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const describeLocal = bwrapInstalled ? describe : describe.skip

const BUSYBOX = "tag:busybox:latest"

let dataDir: string
let hostDir: string
let server: Connected

const run = (args: Record<string, unknown>) => callOk(server.client, "contree_run", { image: BUSYBOX, ...args })
const names = async (image: string, path: string): Promise<Array<string>> =>
  ((await callOk(server.client, "contree_list_files", { image, path })).files as Array<{ name: string }>).map((f) => f.name)
const readFile = async (image: string, path: string): Promise<string> =>
  (await callOk(server.client, "contree_read_file", { image, path })).content
const operation = (id: string) => callOk(server.client, "contree_get_operation", { operation_id: id })

for (const backend of engineBackends) {
  describeLocal(backend.name, () => {
    let stop: () => Promise<void> = async () => undefined

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-local-"))
      hostDir = mkdtempSync(join(tmpdir(), "contree-e2e-host-"))
      ;({ server, stop } = await backend.connect(dataDir))
    })

    afterAll(async () => {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
      rmSync(hostDir, { recursive: true, force: true })
    })

  describe("the MCP surface", () => {
    it("lists every tool, and starts with the offline busybox:latest image", async () => {
      const { tools } = await server.client.listTools()
      expect(tools.map((t) => t.name).sort()).toEqual([...toolNames].sort())
      const images = (await callOk(server.client, "contree_list_images", {})).images as Array<{ uuid: string; tag: string | null }>
      const busybox = images.find((image) => image.tag === "busybox:latest")
      expect(busybox).toBeDefined()
      const got = await callOk(server.client, "contree_get_image", { image: BUSYBOX })
      expect(JSON.stringify(got)).toContain(busybox!.uuid)
    })

    it("serves the image resources: an ls -l listing of the root, and a file", async () => {
      const uri = "contree://image/tag%3Abusybox%3Alatest/ls/."
      const { contents } = await server.client.readResource({ uri })
      expect(contents).toHaveLength(1)
      const text = (contents[0] as { text: string }).text
      const entries = text.split("\n").slice(1).filter((line) => line !== "").map((line) => line.split(" ").pop())
      expect(entries).toEqual(expect.arrayContaining(["bin", "etc", "root", "tmp"]))
      expect(text).toMatch(/^total /)
      expect(text).toMatch(/^dr-xr-xr-x .* proc$/m)
      const release = await server.client.readResource({ uri: "contree://image/tag%3Abusybox%3Alatest/read/etc/os-release" })
      expect((release.contents[0] as { text: string }).text).toMatch(/^ID=busybox$/m)
      const { resourceTemplates } = await server.client.listResourceTemplates()
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(
        expect.arrayContaining(["contree://image/{image}/ls/{path}", "contree://image/{image}/read/{path}"])
      )
    })
  })

  describe("runs and images", () => {
    it("a disposable run leaves no image, and its changes are gone", async () => {
      const first = await run({ command: "echo scratch > /root/note; rm /etc/hosts; cat /root/note" })
      expect(first).toMatchObject({ status: "SUCCESS", exit_code: 0, stdout: "scratch\n", result_image: null })
      const next = await run({ command: "ls /root; cat /etc/hosts" })
      expect(next).toMatchObject({ exit_code: 0, stdout: expect.stringMatching(/^127\.0\.0\.1\tlocalhost\n/) })
      expect(await names(BUSYBOX, "/root")).toEqual([])
      expect(await names(BUSYBOX, "/etc")).toContain("hosts")
    })

    it("a committed run gives a new image readable with contree_read_file; a run that changes nothing gives the input back", async () => {
      const base = (await callOk(server.client, "contree_get_image", { image: BUSYBOX })).uuid as string
      const committed = await run({ command: "mkdir -p /srv && echo committed > /srv/state", disposable: false })
      expect(committed).toMatchObject({ status: "SUCCESS", exit_code: 0, image: base })
      expect(committed.result_image).toEqual(expect.any(String))
      expect(committed.result_image).not.toBe(base)
      expect(await readFile(committed.result_image, "/srv/state")).toBe("committed\n")
      expect(await names(base, "/")).not.toContain("srv")

      const unchanged = await run({ command: "cat /srv/state >/dev/null", image: committed.result_image, disposable: false })
      expect(unchanged).toMatchObject({ status: "SUCCESS", exit_code: 0, result_image: committed.result_image })
      const images = (await callOk(server.client, "contree_list_images", {})).images as Array<{ uuid: string }>
      expect(images.filter((image) => image.uuid === committed.result_image)).toHaveLength(1)
    })

    it("a three-deep chain with deletions and additions reads back right at every depth", async () => {
      const one = await run({
        command: "mkdir -p /data/keep /data/gone /data/re && echo a > /data/keep/a && echo b > /data/gone/b && " +
          "echo old > /data/re/old && echo 1 > /data/one && echo top > /data/top",
        disposable: false
      })
      const two = await run({
        image: one.result_image,
        command: "rm /data/one && rm -rf /data/gone /data/re && mkdir /data/re && echo new > /data/re/new && echo 2 > /data/two",
        disposable: false
      })
      const three = await run({
        image: two.result_image,
        command: "rm /data/top /etc/hosts && echo 3 > /data/three && echo a2 >> /data/keep/a",
        disposable: false
      })
      for (const step of [one, two, three]) expect(step).toMatchObject({ status: "SUCCESS", exit_code: 0 })
      const [img1, img2, img3] = [one.result_image as string, two.result_image as string, three.result_image as string]

      expect(await names(img3, "/data")).toEqual(["keep", "re", "three", "two"])
      // Removed and created again: only the new content, nothing of the lower layer's directory.
      expect(await names(img3, "/data/re")).toEqual(["new"])
      expect(await readFile(img3, "/data/keep/a")).toBe("a\na2\n")
      expect(await readFile(img3, "/data/re/new")).toBe("new\n")
      expect(await names(img3, "/etc")).not.toContain("hosts")
      for (const gone of ["/data/one", "/data/top", "/data/re/old", "/data/gone/b", "/etc/hosts"]) {
        const error = await callError(server.client, "contree_read_file", { image: img3, path: gone })
        expect(error).toMatch(/not found/i)
        // In the engine's own words when it runs in process; through serve, the cloud client names its request.
        if (backend.inProcess) expect(error).not.toContain("ConTree API")
        else expect(error).toContain("ConTree API GET")
      }
      await callError(server.client, "contree_list_files", { image: img3, path: "/data/gone" })

      // The images below are untouched by what was built on them.
      expect(await names(img2, "/data")).toEqual(["keep", "re", "top", "two"])
      expect(await readFile(img2, "/data/keep/a")).toBe("a\n")
      expect(await names(img2, "/etc")).toContain("hosts")
      expect(await names(img1, "/data")).toEqual(["gone", "keep", "one", "re", "top"])
      expect(await names(img1, "/data/re")).toEqual(["old"])
      expect(await readFile(img1, "/data/gone/b")).toBe("b\n")

      // A sandbox on the top image (the kernel's overlayfs) sees what inspection (the engine's reading of the layers) showed.
      const seen = await run({ image: img3, command: "find /data | sort; cat /data/keep/a" })
      expect(seen.stdout).toBe(
        ["/data", "/data/keep", "/data/keep/a", "/data/re", "/data/re/new", "/data/three", "/data/two", "a", "a2", ""].join("\n")
      )
    })
  })

  describe("isolation", () => {
    it("rm -rf / harms neither the host nor the input image", async () => {
      const sentinels = [join(hostDir, "sentinel"), join(dataDir, "sentinel")]
      for (const path of sentinels) writeFileSync(path, "still here\n")
      const fingerprint = "ls -lAR /bin /sbin /usr /etc /root | md5sum"
      const before = await run({ command: fingerprint })
      // GNU rm needs --no-preserve-root for this; busybox's rm refuses that option and never spares `/`.
      const refused = await run({ command: "rm -rf --no-preserve-root /" })
      expect(refused.stderr).toMatch(/unrecognized option/)
      const wiped = await run({ command: "rm -rf / 2>/dev/null; ls -A /", disposable: false })
      expect(wiped.status).toBe("SUCCESS")
      // Only the sandbox's own mounts are left, inside the sandbox and in the image it saved.
      expect(wiped.stdout.trim().split("\n").sort()).toEqual(["dev", "proc"])
      expect(await names(wiped.result_image, "/")).toEqual(["dev", "proc"])

      for (const path of sentinels) expect(readFileSync(path, "utf8")).toBe("still here\n")
      expect(await names(BUSYBOX, "/")).toEqual(expect.arrayContaining(["bin", "etc", "root", "sbin", "usr"]))
      expect(await readFile(BUSYBOX, "/etc/os-release")).toMatch(/^ID=busybox$/m)
      const after = await run({ command: fingerprint })
      expect(after).toMatchObject({ exit_code: 0, stdout: before.stdout })
      expect(before.stdout).toMatch(/^[0-9a-f]{32} /)
    })

    it("a sandbox cannot read a host file outside its image, nor can inspection", async () => {
      const secret = `host-secret-${marker()}-${Date.now()}`
      const path = join(hostDir, `secret-${marker()}`)
      writeFileSync(path, secret)
      const attempt = await run({ command: `cat ${path}; echo "cat: $?"; cat /proc/1/root${path}; echo "proc: $?"` })
      expect(attempt.stdout).not.toContain(secret)
      expect(attempt.stdout).toMatch(/^cat: [1-9]\d*$/m)
      expect(attempt.stdout).toMatch(/^proc: [1-9]\d*$/m)
      expect(attempt.stderr).toContain(`can't open '${path}': No such file`)
      expect(attempt.stderr).toContain(`can't open '/proc/1/root${path}': No such file`)

      // A symlink saved in an image is resolved inside the image, never on the host.
      const linked = await run({ command: `ln -s ${path} /root/link && ln -s ../../../../../..${path} /root/up`, disposable: false })
      expect(linked.exit_code).toBe(0)
      for (const name of ["/root/link", "/root/up", `/../../..${path}`]) {
        const error = await callError(server.client, "contree_read_file", { image: linked.result_image, path: name })
        expect(error).not.toContain(secret)
        expect(error).toMatch(/not found/i)
      }
    })

    it("the network is off: only lo, and a TCP port open on the host's 127.0.0.1 cannot be reached", async () => {
      let connections = 0
      const listener = createServer((socket) => {
        connections++
        socket.end("hello from the host\n")
      })
      await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve))
      const port = (listener.address() as { port: number }).port
      try {
        const probe = await run({
          command: `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; nc -w 2 127.0.0.1 ${port} </dev/null; echo "nc: $?"`
        })
        expect(probe.stdout).toMatch(/^lo\nnc: [1-9]\d*\n$/)
        expect(probe.stdout).not.toContain("hello from the host")
        expect(probe.stderr).toMatch(/refused/i)
        expect(connections).toBe(0)
      } finally {
        listener.close()
      }
    })
  })

  describe("processes", () => {
    it("a time-out kills a process tree that ignores SIGTERM", async () => {
      const sleep = `sleep ${marker()}`
      const started = await run({ command: `trap "" TERM; ${sleep} & ${sleep}`, timeout: 1, wait: false })
      // Both sleeps are running before the time-out hits, so their absence afterwards means something.
      await waitFor("both sleeps to run", () => (processesRunning(sleep).length === 2 ? true : undefined))
      const waited = await callOk(server.client, "contree_wait_operations", { operation_ids: [started.operation_id] })
      expect(waited.errors).toEqual({})
      const result = waited.results[started.operation_id]
      expect(result).toMatchObject({ status: "SUCCESS", timed_out: true, exit_code: -1 })
      expect(processesRunning(sleep)).toEqual([])
      expect(processesWith(sleep)).toEqual([])
    })

    it("cancel stops a running sleep: the operation is CANCELLED and no process is left", async () => {
      const sleep = `sleep ${marker()}`
      const started = await run({ command: sleep, wait: false, disposable: false })
      await waitFor("the sleep to run", () => (processesRunning(sleep).length === 1 ? true : undefined))
      expect((await operation(started.operation_id)).status).toBe("EXECUTING")
      const cancelled = await callOk(server.client, "contree_cancel_operation", { operation_id: started.operation_id })
      expect(cancelled).toMatchObject({ cancelled: true, status: "CANCELLED" })
      expect(processesWith(sleep)).toEqual([])
      const op = await operation(started.operation_id)
      expect(op.status).toBe("CANCELLED")
      expect(op.result_image ?? null).toBeNull()
      expect(readdirSync(join(dataDir, "sandbox", "runs"))).toEqual([])
    })

    it("20 concurrent runs each come back with their own output", async () => {
      const count = 20
      const started = await Promise.all(Array.from({ length: count }, (_, i) =>
        run({
          command: `read line; echo "run-${i} $line $((${i} * 7))"; echo err-${i} >&2; echo saved-${i} > /root/out`,
          stdin: `input-${i}\n`,
          disposable: i % 2 === 0,
          wait: false
        })))
      const ids = started.map((s) => s.operation_id as string)
      expect(new Set(ids).size).toBe(count)
      const waited = await callOk(server.client, "contree_wait_operations", { operation_ids: ids, timeout: 60 })
      expect(waited).toMatchObject({ timed_out: false, cancelled: [], errors: {} })
      expect([...waited.completed].sort()).toEqual([...ids].sort())
      ids.forEach((id, i) => {
        expect(waited.results[id]).toMatchObject({
          status: "SUCCESS",
          exit_code: 0,
          stdout: `run-${i} input-${i} ${i * 7}\n`,
          stderr: `err-${i}\n`
        })
      })
      // Each committed run saved its own image, with its own file.
      for (const [i, id] of ids.entries()) {
        const image = waited.results[id].result_image
        if (i % 2 === 0) expect(image).toBeNull()
        else expect(await readFile(image, "/root/out")).toBe(`saved-${i}\n`)
      }
    })
  })

  describe("tags and downloads", () => {
    it("a tag names one image at a time: set, resolved, moved, listed by prefix, removed", async () => {
      const [one, two] = await Promise.all(["1", "2"].map((v) => run({ command: `echo ${v} > /v`, disposable: false })))
      const tag = `e2e/tags/demo:${marker()}`
      expect(await callOk(server.client, "contree_set_tag", { image_uuid: one.result_image, tag })).toMatchObject({ uuid: one.result_image, tag })
      expect(await readFile(`tag:${tag}`, "/v")).toBe("1\n")
      expect(await callOk(server.client, "contree_set_tag", { image_uuid: two.result_image, tag })).toMatchObject({ uuid: two.result_image, tag })
      expect(await readFile(`tag:${tag}`, "/v")).toBe("2\n")
      expect((await callOk(server.client, "contree_get_image", { image: one.result_image })).tag).toBeNull()
      const listed = (await callOk(server.client, "contree_list_images", { tag_prefix: "e2e/tags/" })).images as Array<{ uuid: string }>
      expect(listed.map((image) => image.uuid)).toEqual([two.result_image])
      expect(await callOk(server.client, "contree_set_tag", { image_uuid: two.result_image })).toMatchObject({ uuid: two.result_image, tag: null })
      expect(await callError(server.client, "contree_get_image", { image: `tag:${tag}` })).toContain(tag)
    })

    it("downloads a file byte for byte, and leaves the destination alone when the file is missing", async () => {
      const made = await run({ command: "printf '\\336\\255\\276\\357' > /root/data.bin; head -c 3000000 /dev/urandom > /root/big", disposable: false })
      const destination = join(hostDir, "dl", "data.bin")
      const result = await callOk(server.client, "contree_download", { image: made.result_image, path: "/root/data.bin", destination })
      expect(result).toMatchObject({ success: true, size: 4, executable: false })
      expect([...readFileSync(destination)]).toEqual([0xde, 0xad, 0xbe, 0xef])
      const big = join(hostDir, "dl", "big")
      await callOk(server.client, "contree_download", { image: made.result_image, path: "/root/big", destination: big })
      const digest = await run({ image: made.result_image, command: "sha256sum /root/big" })
      expect(digest.stdout.split(" ")[0]).toBe(createHash("sha256").update(readFileSync(big)).digest("hex"))
      const error = await callError(server.client, "contree_download", { image: made.result_image, path: "/root/missing", destination })
      expect(error).toMatch(/not found/i)
      expect([...readFileSync(destination)]).toEqual([0xde, 0xad, 0xbe, 0xef])
      // A FIFO (like /dev/null, a device) is never replaced.
      const fifo = join(hostDir, "dl", "fifo")
      spawnSync("mkfifo", [fifo])
      expect(await callError(server.client, "contree_download", { image: made.result_image, path: "/root/data.bin", destination: fifo }))
        .toContain(`destination ${fifo} is a FIFO`)
      expect(lstatSync(fifo).isFIFO()).toBe(true)
    })
  })

  describe("files and output", () => {
    it("places uploaded files (files map) and a synced directory (directory_state_id) with their modes", async () => {
      const script = await callOk(server.client, "contree_upload", { content: "#!/bin/sh\necho uploaded tool ran\n" })
      const source = join(hostDir, "project")
      mkdirSync(join(source, "bin"), { recursive: true })
      writeFileSync(join(source, "bin", "build.sh"), "#!/bin/sh\necho synced build ran\n", { mode: 0o755 })
      writeFileSync(join(source, "secret.env"), "TOKEN=local\n", { mode: 0o600 })
      writeFileSync(join(source, "README"), "readme\n", { mode: 0o644 })
      const synced = await callOk(server.client, "contree_rsync", { source, destination: "/app" })
      expect(synced).toMatchObject({ files: 3, skipped: 0 })

      const ran = await run({
        command: "stat -c '%a %n' /app/bin/build.sh /app/secret.env /app/README /opt/tool.sh; /app/bin/build.sh; " +
          "sh /opt/tool.sh; cat /app/secret.env",
        directory_state_id: synced.directory_state_id,
        files: { "/opt/tool.sh": script.uuid },
        disposable: false
      })
      expect(ran.exit_code).toBe(0)
      expect(ran.stdout).toBe(
        "755 /app/bin/build.sh\n600 /app/secret.env\n644 /app/README\n644 /opt/tool.sh\n" +
          "synced build ran\nuploaded tool ran\nTOKEN=local\n"
      )
      // The placed files are part of the committed image, modes included.
      const listed = (await callOk(server.client, "contree_list_files", { image: ran.result_image, path: "/app/bin" })).files
      expect(listed).toEqual([expect.objectContaining({ name: "build.sh", mode: "0o100755", type: "file" })])
      expect(await readFile(ran.result_image, "/opt/tool.sh")).toBe("#!/bin/sh\necho uploaded tool ran\n")
    })

    it("contree_rsync reports progress to a client that asks: bytes increasing up to a final total", async () => {
      const source = join(hostDir, "progress-project")
      for (let i = 0; i < 30; i++) {
        mkdirSync(join(source, `d${i % 3}`), { recursive: true })
        writeFileSync(join(source, `d${i % 3}`, `f${i}`), `content ${i}\n`.repeat(i + 1))
      }
      const progress: Array<{ readonly progress: number; readonly total?: number | undefined; readonly message?: string | undefined }> = []
      // Read off the transport: the SDK client hands a notification to `onprogress` a microtask
      // late and drops it once the response is in, so the last one is lost when both arrive together.
      const transport = server.client.transport!
      const forward = transport.onmessage!
      transport.onmessage = (message, extra) => {
        if ("method" in message && message.method === "notifications/progress") progress.push(message.params as (typeof progress)[number])
        forward(message, extra)
      }
      const result = (await server.client.callTool(
        { name: "contree_rsync", arguments: { source, destination: "/progress" } },
        undefined,
        { onprogress: () => undefined }
      ).finally(() => (transport.onmessage = forward))) as CallToolResult
      expect(result.isError).toBeFalsy()
      expect(progress.length).toBeGreaterThanOrEqual(1)
      progress.slice(1).forEach((p, i) => expect(p.progress).toBeGreaterThan(progress[i]!.progress))
      const last = progress.at(-1)!
      expect(last.total).toBe(last.progress)
      expect(last.message).toMatch(/^walked 30 files .*; hashed 30 of 30 files .*; uploaded 30 of 30 files/)
    })

    it("truncates output at truncate_output_at and says so", async () => {
      const long = await run({ command: "yes 0123456789 | head -c 100000; yes e | head -c 3000 >&2", truncate_output_at: 1000 })
      expect(long).toMatchObject({ exit_code: 0, stdout_truncated: true, stderr_truncated: true })
      expect(long.stdout).toBe("0123456789\n".repeat(100).slice(0, 1000))
      expect(long.stderr).toBe("e\n".repeat(500))
      const short = await run({ command: "echo short", truncate_output_at: 1000 })
      expect(short).toMatchObject({ stdout: "short\n", stdout_truncated: false })
    })

    it("returns bytes that are not UTF-8 as base64", async () => {
      const binary = await run({ command: "printf '\\xff\\xfe'" })
      expect(binary).toMatchObject({ exit_code: 0, stdout_encoding: "base64", stdout_truncated: false })
      expect([...Buffer.from(binary.stdout, "base64")]).toEqual([0xff, 0xfe])
    })

    it("reports a failing command as SUCCESS with its exit code, and an unknown image as an error", async () => {
      expect(await run({ command: "echo oops >&2; exit 3" })).toMatchObject({ status: "SUCCESS", exit_code: 3, stderr: "oops\n" })
      const error = await callError(server.client, "contree_run", { command: "true", image: "tag:no-such-image:1" })
      expect(error).toMatch(/no image has the tag/)
      const result = (await server.client.callTool({ name: "contree_import_image", arguments: { registry_url: "docker://alpine:3.20" } })) as CallToolResult
      expect(result.isError).toBe(true)
    })
  })
  })
}

describeLocal("local backend over stdio: a second data directory under the same home", () => {
  it("is the default without a token, and never takes the first one's uploads or synced files for its own", async () => {
    const home = mkdtempSync(join(tmpdir(), "contree-e2e-home-"))
    const dirs = [mkdtempSync(join(tmpdir(), "contree-e2e-a-")), mkdtempSync(join(tmpdir(), "contree-e2e-b-"))]
    const source = join(home, "src")
    mkdirSync(source)
    writeFileSync(join(source, "data.txt"), "synced content\n")
    try {
      for (const dir of dirs) {
        // No token and no --backend: the local backend. The cache paths are left to their defaults (empty means unset).
        const local = await connectStdio({
          extraEnv: { HOME: home, CONTREE_MCP_DATA_DIR: dir, CONTREE_MCP_CACHE_GENERAL: "", CONTREE_MCP_CACHE_FILES: "" }
        })
        try {
          const uploaded = await callOk(local.client, "contree_upload", { content: "uploaded content\n" })
          const synced = await callOk(local.client, "contree_rsync", { source, destination: "/app" })
          const ran = await callOk(local.client, "contree_run", {
            command: "cat /up.txt /app/data.txt",
            image: BUSYBOX,
            files: { "/up.txt": uploaded.uuid },
            directory_state_id: synced.directory_state_id
          })
          expect(ran).toMatchObject({ status: "SUCCESS", exit_code: 0, stdout: "uploaded content\nsynced content\n" })
        } finally {
          await local.close()
        }
      }
      // Each data directory holds its own state and caches; the home's ~/.cache is not used.
      for (const dir of dirs) {
        expect(["cache.db", "engine.db", "files.db"].filter((name) => existsSync(join(dir, name)))).toEqual(["cache.db", "engine.db", "files.db"])
        // Secrets at rest: the data directory is the user's alone, and so is every database file in it.
        expect(statSync(dir).mode & 0o7777).toBe(0o700)
        for (const name of readdirSync(dir).filter((entry) => /\.db(-wal|-shm)?$/.test(entry))) expect([name, statSync(join(dir, name)).mode & 0o7777]).toEqual([name, 0o600])
      }
      expect(existsSync(join(home, ".cache"))).toBe(false)
    } finally {
      for (const dir of [home, ...dirs]) rmSync(dir, { recursive: true, force: true })
    }
  })
})

describeLocal("local backend over stdio: an emptied engine.db beside existing layers", () => {
  it("refuses to start, says what to do, and every layer directory is still there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "contree-e2e-emptied-"))
    try {
      const first = await connectLocal({ dataDir: dir })
      await callOk(first.client, "contree_list_images", {})
      await first.close()
      const layers = join(dir, "sandbox", "layers")
      const before = readdirSync(layers).sort()
      expect(before.length).toBeGreaterThan(0)
      for (const suffix of ["-wal", "-shm"]) rmSync(join(dir, `engine.db${suffix}`), { force: true })
      writeFileSync(join(dir, "engine.db"), "")
      const { env, home } = sandboxEnv({})
      const started = spawnSync(process.execPath, [binPath, "--backend", "local", "--data-dir", dir], { env, input: "", encoding: "utf8", timeout: 60_000 })
      rmSync(home, { recursive: true, force: true })
      expect(started.status).toBe(1)
      expect(started.stderr).toContain(`${join(dir, "engine.db")} records no image, but ${layers} holds ${before.length} layer director`)
      expect(started.stderr).toContain(`move ${layers} away`)
      expect(readdirSync(layers).sort()).toEqual(before)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
