// Network fixtures for the sandbox network tests: a private network the test makes itself (a tap
// interface), TCP servers that count who reached them, and the shell probe a sandbox runs.
// Nothing here needs the internet.
import { spawnSync } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createServer, type Server } from "node:net"
import { networkInterfaces } from "node:os"
import type { NetworkHelperName } from "../../src/local/sandbox/SandboxNetwork.js"

const onPath = (program: string): boolean =>
  `${process.env["PATH"] ?? ""}:/usr/sbin:/usr/bin:/sbin:/bin`.split(":").some((dir) => {
    try {
      accessSync(`${dir}/${program}`, constants.X_OK)
      return dir !== ""
    } catch {
      return false
    }
  })

/** The network helpers installed here (CI installs both). */
export const installedHelpers: ReadonlyArray<NetworkHelperName> = (["slirp4netns", "pasta"] as const).filter(onPath)

/** Making an interface needs CAP_NET_ADMIN: the test must run as root (CI does). */
export const canMakeNetwork = process.getuid?.() === 0 && onPath("ip")

export interface PrivateNetwork {
  /** The host's address on it: not loopback, reachable only through a sandbox's network helper. */
  readonly address: string
  readonly remove: () => void
}

/**
 * An interface with a private /24 of its own; `remove` deletes it. A tap device with nothing
 * attached: the helpers need /dev/net/tun anyway, while the dummy driver may be a missing module.
 */
export const makePrivateNetwork = (): PrivateNetwork => {
  const id = Math.floor(Math.random() * 200) + 20
  const name = `ctnet${process.pid % 10_000}${id}`
  const address = `10.213.${id}.1`
  const ip = (...args: Array<string>) => {
    const result = spawnSync("ip", args, { encoding: "utf8" })
    if (result.status !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr}`)
  }
  ip("tuntap", "add", "dev", name, "mode", "tap")
  try {
    ip("addr", "add", `${address}/24`, "dev", name)
    ip("link", "set", name, "up")
  } catch (error) {
    spawnSync("ip", ["link", "del", name])
    throw error
  }
  return { address, remove: () => void spawnSync("ip", ["link", "del", name]) }
}

export interface CountingServer {
  readonly port: number
  /** Connections accepted so far. */
  readonly connections: () => number
  readonly close: () => Promise<void>
}

/** A TCP server on `host` that greets whoever connects with `greeting` and counts them. */
export const countingServer = (host: string, greeting: string): Promise<CountingServer> =>
  new Promise((resolve, reject) => {
    let connections = 0
    const server: Server = createServer((socket) => {
      connections++
      socket.on("error", () => undefined)
      socket.end(`${greeting}\n`)
    })
    server.once("error", reject)
    server.listen(0, host, () =>
      resolve({
        port: (server.address() as { port: number }).port,
        connections: () => connections,
        close: () => new Promise((done) => server.close(() => done()))
      }))
  })

/** The host's IPv4 addresses that are not loopback (a sandbox may reach services bound there, never 127.0.0.1). */
export const hostAddresses = (): Array<string> =>
  Object.values(networkInterfaces()).flatMap((addresses) =>
    (addresses ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address)
  )

/**
 * A busybox shell probe: the interfaces (one per line, sorted, after `if:`), whether there is a
 * default route, the nameserver, then one `reach ADDR: OUTPUT` line per address tried on `port`.
 * The gateway is read from the sandbox's routing table: with slirp4netns it is the helper itself.
 * Every connect is bounded by `timeout`: pasta may leave a connect nobody answers pending.
 */
export const networkProbe = (port: number, addresses: ReadonlyArray<string>): string =>
  [
    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | sed 's/^/if: /'",
    "awk '$2 == \"00000000\" { print \"default route\" }' /proc/net/route",
    "grep -h nameserver /etc/resolv.conf",
    "gw=$(ip route | awk '/^default/ { print $3 }')",
    `for a in ${addresses.join(" ")} $gw; do echo "reach $a: $(timeout 10 nc -w 3 $a ${port} </dev/null 2>&1 | tr '\\n' ' ')"; done`
  ].join("; ")
