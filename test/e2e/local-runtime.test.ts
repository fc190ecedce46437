// What a container runtime gives the software inside, end to end on the local backend with a real
// Debian image (built with mmdebstrap, cached; it ships no /etc/hosts): localhost and the hostname
// resolve, /dev/shm is shared memory for every user, and none of it is saved into committed images;
// ordinary work (dpkg, apt, Python) runs under the seccomp filter.
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { debianImage } from "../support/debianImage.js"
import { callError, callOk, type Connected, connectLocal } from "./harness.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const debian = bwrapInstalled ? debianImage() : { tarball: undefined, missing: "bubblewrap is not installed" }
if (debian.missing !== undefined) console.warn(`local-runtime e2e skipped: ${debian.missing}`)
const describeDebian = debian.tarball !== undefined ? describe : describe.skip

describeDebian("local backend: a sandbox looks like a container to the software inside it (Debian bookworm)", () => {
  let dataDir: string
  let server: Connected
  let image: string

  const run = async (command: string, extra: Record<string, unknown> = {}) => {
    const result = await callOk(server.client, "contree_run", { image, command, timeout: 120, ...extra })
    expect(result["exit_code"], String(result["stderr"])).toBe(0)
    return result
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "contree-e2e-runtime-"))
    server = await connectLocal({ dataDir })
    const imported = await callOk(server.client, "contree_import_image", { registry_url: `tarball:${debian.tarball}` })
    image = imported["result_image"] as string
    expect(image).toMatch(/^[0-9a-f-]{36}$/)
  }, 600_000)

  afterAll(async () => {
    await server?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("the image ships no /etc/hosts, yet localhost and the hostname resolve, and /etc/hostname is the hostname", async () => {
    expect(await callError(server.client, "contree_read_file", { image, path: "/etc/hosts" })).toMatch(/not found/i)
    const ran = await run("getent hosts localhost; getent hosts $(hostname); cat /etc/hostname; hostname; echo $HOSTNAME")
    expect(ran["stdout"]).toMatch(/^(127\.0\.0\.1|::1)\s+localhost.*\n127\.0\.1\.1\s+linuxkit\nlinuxkit\nlinuxkit\nlinuxkit\n$/)
  }, 300_000)

  it("a Python server bound to localhost answers a client in the same sandbox", async () => {
    const server_ = [
      "import http.server, threading, urllib.request",
      "s = http.server.HTTPServer(('localhost', 0), http.server.SimpleHTTPRequestHandler)",
      "threading.Thread(target=s.serve_forever, daemon=True).start()",
      "print(urllib.request.urlopen(f'http://localhost:{s.server_port}/').status)"
    ].join("\n")
    const ran = await run(`python3 - <<'EOF'\n${server_}\nEOF`)
    expect(ran["stdout"]).toBe("200\n")
  }, 300_000)

  it("/dev/shm is mode 1777 and a process that dropped to uid 1000 can create a multiprocessing.Lock()", async () => {
    const ran = await run(
      "stat -c %a /dev/shm; setpriv --reuid=1000 --regid=1000 --clear-groups python3 -c 'import multiprocessing, os; multiprocessing.Lock(); print(os.getuid(), \"ok\")'"
    )
    expect(ran["stdout"]).toBe("1777\n1000 ok\n")
  }, 300_000)

  it("under the seccomp filter, dpkg and apt install a package, Python runs subprocesses and threads, and new user namespaces are refused", async () => {
    const ran = await run([
      "mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/local/bin",
      "printf 'Package: contree-probe\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Contree <dev@example.com>\\nDescription: probe\\n' > /tmp/pkg/DEBIAN/control",
      "printf '#!/bin/sh\\necho probe ran\\n' > /tmp/pkg/usr/local/bin/contree-probe && chmod 755 /tmp/pkg/usr/local/bin/contree-probe",
      "dpkg-deb -b /tmp/pkg /tmp/probe.deb >/dev/null",
      "apt-get install -y -q /tmp/probe.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }",
      "contree-probe",
      "dpkg-query -W -f '${Status}\\n' contree-probe",
      "python3 -c 'import subprocess, concurrent.futures as f; print(subprocess.run([\"true\"]).returncode, list(f.ThreadPoolExecutor(4).map(abs, [-1, -2])))'",
      "grep Seccomp: /proc/self/status",
      "unshare -U true 2>/dev/null || echo userns refused"
    ].join(" && "))
    expect(ran["stdout"]).toMatch(/^probe ran\ninstall ok installed\n0 \[1, 2\]\nSeccomp:\s+2\nuserns refused\n$/)
  }, 300_000)

  it("a committing run that does not touch them leaves /etc/hosts absent and /etc/hostname as the parent had it", async () => {
    const parentHostname = (await callOk(server.client, "contree_read_file", { image, path: "/etc/hostname" }))["content"]
    const committed = await run("echo data > /root/made-here", { disposable: false })
    const child = committed["result_image"] as string
    expect(child).not.toBe(image)
    expect(await callError(server.client, "contree_read_file", { image: child, path: "/etc/hosts" })).toMatch(/not found/i)
    expect((await callOk(server.client, "contree_read_file", { image: child, path: "/etc/hostname" }))["content"]).toBe(parentHostname)
    expect((await callOk(server.client, "contree_read_file", { image: child, path: "/root/made-here" }))["content"]).toBe("data\n")
    // A command that changes /etc/hosts saves its change.
    const edited = await run("echo '10.1.2.3 db' >> /etc/hosts", { disposable: false })
    const hosts = (await callOk(server.client, "contree_read_file", { image: edited["result_image"], path: "/etc/hosts" }))["content"] as string
    expect(hosts).toContain("10.1.2.3 db")
  }, 300_000)
})
