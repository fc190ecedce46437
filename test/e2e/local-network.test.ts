// Outbound network for local sandboxes, end to end: the built server with its network setting,
// driven by the SDK client. A networked run reaches a private network the test makes itself and
// never the host's loopback, the server's own MCP HTTP port included; the helper process never
// outlives its server. No internet is needed.
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { canMakeNetwork, countingServer, hostAddresses, installedHelpers, makePrivateNetwork, networkProbe } from "../support/network.js"
import {
  binPath,
  callError,
  callOk,
  type Connected,
  connectHttp,
  connectLocal,
  connectToServe,
  startHttpServer,
  startServeApi,
  waitFor
} from "./harness.js"
import { descendantsOf, marker, processesRunning, stillRunning } from "./localProcesses.js"

const bwrapInstalled = spawnSync("bwrap", ["--version"]).status === 0
const describeNetwork = bwrapInstalled && installedHelpers.length > 0 ? describe : describe.skip

const BUSYBOX = "tag:busybox:latest"
const dirs: Array<string> = []
const servers: Array<Connected> = []

const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "contree-e2e-net-"))
  dirs.push(dir)
  return dir
}

const serverWith = async (network: string | undefined): Promise<Connected> => {
  const server = await connectLocal({ dataDir: dataDir(), ...(network === undefined ? {} : { extraEnv: { CONTREE_MCP_NETWORK: network } }) })
  servers.push(server)
  return server
}

const interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '"

afterAll(async () => {
  for (const server of servers) await server.close().catch(() => undefined)
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Network helpers the server started, by their command line. */
const helpersOf = (pid: number) => descendantsOf(pid).filter((p) => installedHelpers.some((helper) => p.cmdline.startsWith(`${helper} `)))

describeNetwork("local backend over stdio: the network setting", () => {
  it("by default a run has loopback only, and asking for the network is refused, naming the setting", async () => {
    const server = await serverWith(undefined)
    const error = await callError(server.client, "contree_run", { command: "true", image: BUSYBOX, network: true })
    expect(error).toContain("network setting is off")
    expect(error).toContain("--network opt-in")
    const ran = await callOk(server.client, "contree_run", { command: interfaces, image: BUSYBOX, network: false })
    expect(ran).toMatchObject({ exit_code: 0, stdout: "lo " })
  })

  it("opt-in: only a run that asks gets an interface and a default route, and the helper ends with the run", async () => {
    const server = await serverWith("opt-in")
    const quiet = await callOk(server.client, "contree_run", { command: interfaces, image: BUSYBOX })
    expect(quiet).toMatchObject({ exit_code: 0, stdout: "lo " })
    const online = await callOk(server.client, "contree_run", {
      command: `${interfaces}; echo; awk '$2 == "00000000" { print "default route" }' /proc/net/route`,
      image: BUSYBOX,
      network: true
    })
    expect(online.exit_code).toBe(0)
    expect(online.stdout).toMatch(/^(?=.*\blo\b)\S+ \S+ \ndefault route\n$/)
    // Clean-up follows the recorded outcome: the helper is gone soon after, not necessarily at once.
    await waitFor("the helper to end", () => (helpersOf(server.pid).length === 0 ? true : undefined), 60_000)
  })

  it.skipIf(!canMakeNetwork)("on: a run reaches a private network, and neither the host's 127.0.0.1 nor the MCP HTTP port", async () => {
    const network = makePrivateNetwork()
    const outside = await countingServer(network.address, "hello outside")
    const loopback = await countingServer("127.0.0.1", "hello loopback")
    const http = await startHttpServer({ args: ["--backend", "local", "--data-dir", dataDir(), "--network", "on"] })
    try {
      const client = await connectHttp(http.baseUrl)
      const mcpPort = new URL(http.baseUrl).port
      const addresses = ["127.0.0.1", "10.0.2.2", ...hostAddresses()]
      const ran = await callOk(client, "contree_run", {
        image: BUSYBOX,
        timeout: 300,
        command: `timeout 30 nc -w 5 ${network.address} ${outside.port} </dev/null; ${networkProbe(loopback.port, addresses)}; ` +
          // An HTTP request to the server's own port at every address: any answer would start with HTTP/.
          `for a in ${addresses.join(" ")} $gw; do printf 'GET /mcp HTTP/1.0\\r\\n\\r\\n' | timeout 10 nc -w 3 $a ${mcpPort} 2>/dev/null; done; echo end`
      })
      await client.close()
      expect(ran.exit_code).toBe(0)
      expect(ran.stdout).toMatch(/^hello outside\n/)
      expect(ran.stdout).toMatch(/^default route$/m)
      expect(ran.stdout).not.toContain("hello loopback")
      expect(ran.stdout).not.toContain("HTTP/")
      expect(ran.stdout).toMatch(/end\n$/)
      expect(outside.connections()).toBe(1)
      expect(loopback.connections()).toBe(0)
    } finally {
      await http.stop()
      await outside.close()
      await loopback.close()
      network.remove()
    }
  }, 600_000)

  // The REST API has no per-run network field: under `serve --network on` every run is online, as its setting says.
  it("contree-mcp serve --network on: a run through the cloud backend gets an interface and a default route", async () => {
    const api = await startServeApi({ dataDir: dataDir(), args: ["--network", "on"] })
    try {
      const server = await connectToServe(api)
      servers.push(server)
      const ran = await callOk(server.client, "contree_run", {
        command: `${interfaces}; echo; awk '$2 == "00000000" { print "default route" }' /proc/net/route`,
        image: BUSYBOX
      })
      expect(ran.exit_code).toBe(0)
      expect(ran.stdout).toMatch(/^(?=.*\blo\b)\S+ \S+ \ndefault route\n$/)
    } finally {
      await api.stop()
    }
  }, 300_000)

  it("a server killed with SIGKILL leaves no network helper behind", async () => {
    const server = await serverWith("on")
    const sleep = `sleep ${marker()}`
    await callOk(server.client, "contree_run", { command: sleep, image: BUSYBOX, wait: false })
    const helpers = await waitFor("the sandbox and its network helper", () => {
      const found = helpersOf(server.pid)
      return found.length > 0 && processesRunning(sleep).length > 0 ? found : undefined
    }, 120_000)
    process.kill(server.pid, "SIGKILL")
    await waitFor("the helper to end", () => (stillRunning(helpers).length === 0 && processesRunning(sleep).length === 0 ? true : undefined), 60_000)
  }, 300_000)
})

describeNetwork("contree-mcp doctor", () => {
  const doctor = (...args: Array<string>) =>
    spawnSync(process.execPath, [binPath, "doctor", "--backend", "local", "--data-dir", dataDir(), ...args], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: dataDir(), CONTREE_MCP_CONFIG: "/nonexistent.ini" }
    }).stdout

  it("says which network mode is in force and through which helper", () => {
    expect(doctor("--network", "off")).toMatch(/^network: off, loopback only/m)
    const optIn = doctor("--network", "opt-in")
    expect(optIn).toMatch(/^network: loopback only unless a run passes network=true \(outbound through (slirp4netns|pasta); never the host's loopback/m)
    expect(doctor("--network", "on")).toMatch(/^network: outbound access for every run unless it passes network=false/m)
  })

  it("reports the sandboxes' seccomp filter", () => {
    expect(doctor()).toMatch(/^seccomp: Docker's default profile \(\d+ rules, (x86_64|aarch64)\b.*new user namespaces refused$/m)
  })
})
