// Outbound network for local sandboxes, on the engine: each installed helper gives a run an
// interface and a default route to a private network the test makes itself, and never the
// host's loopback; the policy decides which runs get it. No internet is needed.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { ContreeClient } from "../../../src/services/ContreeClient.js"
import { LocalEngine } from "../../../src/local/LocalEngine.js"
import { descendantsOf, stillRunning } from "../../e2e/localProcesses.js"
import { canMakeNetwork, countingServer, hostAddresses, installedHelpers, makePrivateNetwork, networkProbe } from "../../support/network.js"
import { busybox, describeSandbox, eventually, marker, processesWith, request, run, stdout, withLocal } from "../support.js"

/** The run's stdout, asked with `network` as given. */
const probe = (command: string, network: boolean | undefined, extra: Parameters<typeof request>[2] = {}) =>
  Effect.gen(function*() {
    const client = yield* ContreeClient
    const engine = yield* LocalEngine
    const id = yield* client.spawnInstance(request(yield* busybox, command, extra), { network })
    return yield* engine.awaitOperation(id)
  })

const interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '"

const scoped = <A>(acquire: () => A, release: (a: A) => unknown) =>
  Effect.acquireRelease(Effect.sync(acquire), (a) => Effect.promise(async () => void (await release(a))))

describeSandbox("local sandbox network", () => {
  for (const helper of installedHelpers) {
    /** The helpers this process (the engine) started. */
    const helpers = () => descendantsOf(process.pid).filter((p) => p.cmdline.startsWith(`${helper} `))

    describe.skipIf(!canMakeNetwork)(`through ${helper}`, () => {
      it.live("a run that asks reaches a private network the host is on, and never the host's loopback", () =>
        withLocal(() =>
          Effect.scoped(Effect.gen(function*() {
            const network = yield* scoped(makePrivateNetwork, (n) => n.remove())
            const outside = yield* Effect.acquireRelease(Effect.promise(() => countingServer(network.address, "hello outside")), (s) => Effect.promise(s.close))
            const loopback = yield* Effect.acquireRelease(Effect.promise(() => countingServer("127.0.0.1", "hello loopback")), (s) => Effect.promise(s.close))
            // The same port on the loopback server is tried at every address a sandbox might take for the host.
            const op = yield* probe(
              `timeout 30 nc -w 5 ${network.address} ${outside.port} </dev/null; ` +
                networkProbe(loopback.port, ["127.0.0.1", "10.0.2.2", ...hostAddresses()]),
              true,
              // Addresses nobody answers at take the probe's whole connect time-out each; a busy machine adds to that.
              { timeout: 300 }
            )
            const out = stdout(op)
            assert.deepStrictEqual(op.instance!.result!.state.timed_out, false, out)
            assert.strictEqual(op.instance!.result!.state.exit_code, 0, out)
            assert.match(out, /^hello outside\n/)
            assert.strictEqual(outside.connections(), 1)
            const links = out.split("\n").filter((line) => line.startsWith("if: "))
            assert.strictEqual(links.length, 2, out)
            assert.include(links, "if: lo")
            assert.include(out, "default route\n")
            assert.match(out, new RegExp(`^nameserver ${helper === "slirp4netns" ? "10\\.0\\.2\\.3" : "169\\.254\\.0\\.53"}$`, "m"))
            assert.match(out, /^reach 127\.0\.0\.1: /m)
            assert.notInclude(out, "hello loopback")
            assert.strictEqual(loopback.connections(), 0)
          })),
          { network: "opt-in", networkHelper: helper }), 600_000)

      it.live("the helper is gone once a run is cancelled or timed out, and a networked run that changes nothing saves no new image", () =>
        withLocal(() =>
          Effect.gen(function*() {
            const client = yield* ContreeClient
            const image = yield* busybox
            const unchanged = yield* probe("cat /etc/resolv.conf >/dev/null", true, { disposable: false })
            assert.strictEqual(unchanged.resultImage, image)

            const sleep = `sleep ${marker()}`
            const id = yield* client.spawnInstance(request(image, sleep), { network: true })
            yield* eventually(() => processesWith(sleep).length > 0 && helpers().length > 0, 60_000)
            const started = helpers()
            assert.isTrue(yield* client.cancelOperation(id))
            yield* eventually(() => stillRunning(started).length === 0, 60_000)
            assert.deepStrictEqual(processesWith(sleep), [])

            // A time-out kills the sandbox; the helper goes with it.
            const slow = `sleep ${marker()}`
            const timing = yield* Effect.fork(probe(slow, true, { timeout: 2 }))
            yield* eventually(() => processesWith(slow).length > 0 && helpers().length > 0, 60_000)
            const timed = helpers()
            const timedOut = yield* Fiber.join(timing)
            assert.isTrue(timedOut.instance!.result!.state.timed_out)
            yield* eventually(() => stillRunning(timed).length === 0, 60_000)
          }),
          { network: "on", networkHelper: helper }), 300_000)
    })
  }

  it.live("opt-in: a run that does not ask has loopback only; on: a run has the network unless it passes false", () =>
    Effect.gen(function*() {
      yield* withLocal(() =>
        Effect.gen(function*() {
          assert.strictEqual(stdout(yield* probe(interfaces, undefined)), "lo ")
          assert.strictEqual(stdout(yield* probe(interfaces, false)), "lo ")
        }), { network: "opt-in" })
      if (installedHelpers.length === 0) return
      yield* withLocal(() =>
        Effect.gen(function*() {
          assert.match(stdout(yield* probe(interfaces, undefined)), /^lo \w+ $/)
          assert.strictEqual(stdout(yield* probe(interfaces, false)), "lo ")
        }), { network: "on" })
    }))

  it.live("off: asking for the network is refused, naming the setting to change", () =>
    withLocal(() =>
      Effect.gen(function*() {
        const client = yield* ContreeClient
        const error = yield* Effect.flip(client.spawnInstance(request(yield* busybox, "true"), { network: true }))
        assert.strictEqual(error.reason, "InvalidRequest")
        assert.include(error.message, "network setting is off")
        assert.include(error.message, "--network opt-in")
        assert.include(error.message, "CONTREE_MCP_NETWORK")
        // Not asking, or asking for none, is fine.
        assert.strictEqual(stdout(yield* run(request(yield* busybox, interfaces))), "lo ")
        assert.strictEqual(stdout(yield* probe(interfaces, false)), "lo ")
      })))
})
