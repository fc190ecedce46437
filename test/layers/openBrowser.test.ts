import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { browserCommand, launchDetached, openBrowser } from "../../src/layers/openBrowser.js"

const PAGE = "https://github.com/settings/tokens?type=beta"

describe("browserCommand", () => {
  it("uses xdg-open on Linux only when there is a display", () => {
    assert.deepStrictEqual(browserCommand(PAGE, "linux", { DISPLAY: ":0" }), Option.some({ command: "xdg-open", args: [PAGE], verbatim: false }))
    assert.isTrue(Option.isSome(browserCommand(PAGE, "linux", { WAYLAND_DISPLAY: "wayland-0" })))
    assert.isTrue(Option.isSome(browserCommand(PAGE, "freebsd", { DISPLAY: ":1" })))
    assert.isTrue(Option.isNone(browserCommand(PAGE, "linux", {})))
    assert.isTrue(Option.isNone(browserCommand(PAGE, "linux", { DISPLAY: "" })))
  })

  it("uses open on macOS and start on Windows", () => {
    assert.deepStrictEqual(browserCommand(PAGE, "darwin", {}), Option.some({ command: "open", args: [PAGE], verbatim: false }))
    assert.deepStrictEqual(
      browserCommand(PAGE, "win32", {}),
      Option.some({ command: "cmd.exe", args: ["/d", "/s", "/c", `start "" "${PAGE}"`], verbatim: true })
    )
  })

  it("opens only plain https URLs without shell metacharacters", () => {
    for (const url of ["http://example.com/", "file:///etc/passwd", "https://x.com/a&calc", `https://x.com/"`, "https://x.com/a b", "javascript:alert(1)"]) {
      assert.isTrue(Option.isNone(browserCommand(url, "darwin", {})), url)
      assert.isTrue(Option.isNone(browserCommand(url, "win32", {})), url)
    }
    for (const url of ["https://app.docker.com/settings/personal-access-tokens", "https://gitlab.com/-/user_settings/personal_access_tokens"]) {
      assert.isTrue(Option.isSome(browserCommand(url, "win32", {})), url)
    }
  })
})

describe("launching", () => {
  it.live("reports a launcher that does not exist as not opened, without failing", () =>
    Effect.gen(function*() {
      assert.isFalse(yield* launchDetached({ command: "/nonexistent/contree-browser", args: [], verbatim: false }))
    }))

  it.live("starts a launcher detached and reports it", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "contree-browser-"))
      const marker = join(dir, "opened")
      const script = join(dir, "launcher")
      writeFileSync(script, `#!/bin/sh\necho "$1" > '${marker}'\n`, { mode: 0o755 })
      assert.isTrue(yield* launchDetached({ command: script, args: [PAGE], verbatim: false }))
      for (let i = 0; i < 200 && !existsSync(marker); i++) yield* Effect.sleep("10 millis")
      assert.strictEqual(readFileSync(marker, "utf8").trim(), PAGE)
      rmSync(dir, { recursive: true, force: true })
    }))

  it.live("does nothing on a Linux machine without a display, and opens with one", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "contree-browser-"))
      const marker = join(dir, "opened")
      writeFileSync(join(dir, "xdg-open"), `#!/bin/sh\necho "$1" > '${marker}'\n`, { mode: 0o755 })
      const previous = process.env["PATH"]
      yield* Effect.acquireRelease(
        Effect.sync(() => void (process.env["PATH"] = `${dir}:${previous ?? ""}`)),
        () => Effect.sync(() => void (process.env["PATH"] = previous))
      )
      assert.isFalse(yield* openBrowser(PAGE, "linux", {}))
      assert.isFalse(existsSync(marker))
      // The same launcher, found the same way, does run once there is a display.
      assert.isTrue(yield* openBrowser(PAGE, "linux", { DISPLAY: ":0" }))
      for (let i = 0; i < 200 && !existsSync(marker); i++) yield* Effect.sleep("10 millis")
      assert.strictEqual(readFileSync(marker, "utf8").trim(), PAGE)
      rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.scoped))
})
