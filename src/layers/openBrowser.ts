/**
 * Opening a URL in the user's browser without ever blocking on it or failing because of it.
 *
 * - Linux and other Unixes: `xdg-open`, and only when `DISPLAY` or `WAYLAND_DISPLAY` is set. A
 *   headless machine (an SSH session, a container, CI) has neither, and xdg-open there may start
 *   a text-mode browser that would fight the MCP stdio stream for the terminal.
 * - macOS: `open`. Windows: `cmd /c start`.
 * - The launcher is spawned detached with stdio ignored and `unref()`ed, so it neither holds the
 *   server's event loop nor writes to stdout (the protocol channel). We wait only for Node's
 *   `spawn`/`error` event (bounded), to report whether a launcher started; its errors are swallowed.
 * - Only plain https URLs without shell metacharacters are opened. Callers pass URLs from our own
 *   table of token pages, never agent input, but `cmd /c start` parses its command line, so the
 *   check keeps that true by construction.
 */
import { Duration, Effect, Option } from "effect"
import { spawn } from "node:child_process"

export interface LaunchCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Windows: pass the arguments to cmd.exe exactly as written. */
  readonly verbatim: boolean
}

const SAFE_URL = /^https:\/\/[A-Za-z0-9.-]+(?::\d+)?(?:\/[A-Za-z0-9._~/?=%:+,;@-]*)?$/

/** The command that would open `url` here, or none when this machine has no display or the URL is not one we open. */
export const browserCommand = (
  url: string,
  platform: NodeJS.Platform,
  env: Readonly<Record<string, string | undefined>>
): Option.Option<LaunchCommand> => {
  if (!SAFE_URL.test(url)) return Option.none()
  switch (platform) {
    case "darwin":
      return Option.some({ command: "open", args: [url], verbatim: false })
    case "win32":
      return Option.some({ command: "cmd.exe", args: ["/d", "/s", "/c", `start "" "${url}"`], verbatim: true })
    default:
      return env["DISPLAY"] || env["WAYLAND_DISPLAY"] ? Option.some({ command: "xdg-open", args: [url], verbatim: false }) : Option.none()
  }
}

/** Starts a command detached; true once it started, false when it could not (or did not say so within two seconds). */
export const launchDetached = (launch: LaunchCommand): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(launch.command, [...launch.args], {
        detached: true,
        stdio: "ignore",
        windowsHide: true,
        windowsVerbatimArguments: launch.verbatim
      })
    } catch {
      resume(Effect.succeed(false))
      return
    }
    // Errors after the answer (the launcher exiting badly) must not become uncaught exceptions either.
    child.on("error", () => resume(Effect.succeed(false)))
    child.once("spawn", () => {
      child.unref()
      resume(Effect.succeed(true))
    })
  }).pipe(Effect.timeoutTo({ duration: Duration.seconds(2), onTimeout: () => false, onSuccess: (started) => started }))

/** Opens `url` in a browser when this machine can show one. */
export const openBrowser = (
  url: string,
  platform: NodeJS.Platform = process.platform,
  env: Readonly<Record<string, string | undefined>> = process.env
): Effect.Effect<boolean> =>
  Option.match(browserCommand(url, platform, env), {
    onNone: () => Effect.succeed(false),
    onSome: launchDetached
  })
