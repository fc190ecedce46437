import { Deferred, Effect, Exit, FiberId, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { pollUntil } from "../host/Polling.js"
import { invalidRequest, LocalEngineError } from "../LocalEngineError.js"

/**
 * Outbound network for a sandbox. bwrap gives every sandbox a network namespace of its own with
 * loopback only; when a run may go out, a user-mode network helper attaches to that namespace by
 * the pid of the sandbox's pid 1 and NATs its traffic through sockets the server's user opens on
 * the host. Neither helper is ever allowed to reach the host's loopback: slirp4netns runs with
 * `--disable-host-loopback` (its gateway 10.0.2.2 would otherwise be the host's 127.0.0.1) and
 * pasta with `--no-map-gw` and no port forwarding in either direction (`-T auto` would splice
 * the sandbox's loopback to every port the host listens on). slirp4netns also confines itself
 * (`--enable-sandbox`, `--enable-seccomp`): it parses whatever the sandbox sends.
 */

/** `off`: loopback only, always. `opt-in`: a run that asks gets outbound access. `on`: every run has it unless it opts out. */
export type NetworkPolicy = "off" | "opt-in" | "on"
export const NETWORK_POLICIES: ReadonlyArray<NetworkPolicy> = ["off", "opt-in", "on"]

export type NetworkHelperName = "slirp4netns" | "pasta"
/** The order helpers are chosen in when both are installed: slirp4netns says when it is ready and leaves with its exit fd. */
export const NETWORK_HELPERS: ReadonlyArray<NetworkHelperName> = ["slirp4netns", "pasta"]

/** Where the helper answers DNS: the nameserver the sandbox's /etc/resolv.conf names. */
export const dnsAddress = (helper: NetworkHelperName): string => (helper === "slirp4netns" ? "10.0.2.3" : PASTA_DNS)

// pasta forwards DNS only for an address it is told; a link-local one no real network hands out.
const PASTA_DNS = "169.254.0.53"

const NEVER = "never the host's loopback, the MCP HTTP port included"

/** The `doctor` line: the policy in force and the helper that carries it out. */
export const describeNetwork = (policy: NetworkPolicy, helper: NetworkHelperName | undefined): string =>
  policy === "off"
    ? "network: off, loopback only (a run asking for network=true is refused)"
    : helper === undefined
    ? `network: ${policy}, but neither slirp4netns nor pasta is installed: runs that would get outbound access fail`
    : `network: ${policy === "on" ? "outbound access for every run unless it passes network=false" : "loopback only unless a run passes network=true"}` +
      ` (outbound through ${helper}; ${NEVER})`

/**
 * Whether a run gets outbound access, and through which helper: `asked` is the run's `network`
 * parameter (undefined when it did not say). A run may always do without; asking under `off` is
 * refused, naming the setting that allows it.
 */
export const runNetwork = (
  policy: NetworkPolicy,
  helper: NetworkHelperName | undefined,
  asked: boolean | undefined
): Effect.Effect<NetworkHelperName | undefined, LocalEngineError> => {
  if (asked === true && policy === "off") {
    return Effect.fail(invalidRequest(
      "network=true asks for outbound network access, but this server's network setting is off (loopback only): " +
        "start it with --network opt-in (or CONTREE_MCP_NETWORK=opt-in, or network = opt-in under [local] in its config file)"
    ))
  }
  const wanted = policy === "on" ? asked !== false : policy === "opt-in" && asked === true
  if (!wanted) return Effect.succeed(undefined)
  if (helper === undefined) {
    return Effect.fail(new LocalEngineError({
      reason: "Unavailable",
      message: "outbound network needs slirp4netns or pasta on the server's host, and neither is installed " +
        "(Debian: apt-get install slirp4netns, or passt)"
    }))
  }
  return Effect.succeed(helper)
}

/** How long a helper may take to bring the sandbox's interface up. */
const READY_WITHIN_MS = 15_000

const helperArguments = (helper: NetworkHelperName, pid1: number): Array<string> =>
  helper === "slirp4netns"
    ? ["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4", String(pid1), "tap0"]
    : [
      "--foreground", "--quiet",
      // As root pasta would switch to `nobody`, which may not enter the sandbox's user namespace (and
      // a change of uid would clear the parent-death signal).
      "--runas", `${process.getuid!()}:${process.getgid!()}`,
      "--config-net", "--no-map-gw",
      "--tcp-ports", "none", "--udp-ports", "none", "--tcp-ns", "none", "--udp-ns", "none",
      "--dns-forward", PASTA_DNS,
      String(pid1)
    ]

/** Whether the network namespace of `pid` has a default route (IPv4 or IPv6): the helper has configured it. */
const hasDefaultRoute = (pid: number): boolean => {
  const read = (file: string) => {
    try {
      return readFileSync(`/proc/${pid}/net/${file}`, "utf8").split("\n").slice(file === "route" ? 1 : 0)
    } catch {
      return []
    }
  }
  // A fresh namespace already lists an IPv6 default route: the kernel's reject route on lo.
  return read("route").some((line) => line.split("\t")[1] === "00000000") ||
    read("ipv6_route").some((line) => line.startsWith("00000000000000000000000000000000 00 ") && !line.trimEnd().endsWith(" lo"))
}

const describeEnd = (code: number | null, signal: string | null) => (signal === null ? `exit status ${code}` : `signal ${signal}`)

/**
 * Starts `helper` on the network namespace of the sandbox whose pid 1 is `pid1`, and succeeds once
 * the sandbox has its interface and default route. The helper is killed when the scope closes; it
 * also dies with the server (parent-death signal, and slirp4netns's exit fd closes).
 */
export const attachNetwork = (helper: NetworkHelperName, pid1: number): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const ended = Deferred.unsafeMake<string>(FiberId.none)
    const ready = Deferred.unsafeMake<void>(FiberId.none)
    let stderr = ""
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        // fd 3: slirp4netns's ready fd; fd 4: its exit fd, which closes when this process ends.
        const child: ChildProcess = spawn("setpriv", ["--pdeathsig=KILL", "--", helper, ...helperArguments(helper, pid1)], {
          stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"]
        })
        child.stderr!.on("data", (chunk: Buffer) => {
          if (stderr.length < 4096) stderr += chunk.toString("utf8")
        })
        child.on("error", (error) => Deferred.unsafeDone(ended, Exit.succeed(error.message)))
        child.on("exit", (code, signal) => Deferred.unsafeDone(ended, Exit.succeed(describeEnd(code, signal))))
        const readyFd = child.stdio[3] as NodeJS.ReadableStream
        readyFd.on("data", () => Deferred.unsafeDone(ready, Exit.void))
        readyFd.on("error", () => undefined)
        ;(child.stdio[4] as NodeJS.WritableStream).on("error", () => undefined)
        return child
      }),
      (child) =>
        Effect.suspend(() => {
          child.kill("SIGKILL")
          // Interruptible even inside a finalizer, or the time limit could not stop the wait.
          return Deferred.await(ended).pipe(Effect.interruptible, Effect.timeout("5 seconds"), Effect.ignore)
        })
    )
    // pasta of this vintage has no ready signal: its work shows as the namespace's default route.
    const configured = helper === "slirp4netns"
      ? Deferred.await(ready)
      : pollUntil(Effect.sync(() => hasDefaultRoute(pid1)), (configured) => configured, Effect.sleep("2 millis"))
    const outcome = yield* Effect.raceFirst(
      Effect.as(configured, undefined),
      Deferred.await(ended)
    ).pipe(Effect.timeoutTo({ duration: READY_WITHIN_MS, onTimeout: () => "no interface in time", onSuccess: (how) => how }))
    if (outcome !== undefined) {
      const detail = stderr.split("\n").filter((line) => line !== "" && !line.startsWith("Failed to send")).join("; ")
      return yield* Effect.fail(new Error(`cannot start the sandbox's network (${helper}): ${outcome}${detail === "" ? "" : `: ${detail}`}`))
    }
  })
