import { Effect } from "effect"
import { execFile } from "node:child_process"
import { internal, type LocalEngineError } from "./LocalEngineError.js"

const OPAQUE = "user.overlay.opaque"

/** getfattr prints unusual bytes of a name as `\ooo`; names are bytes, taken as UTF-8 here as Node does. */
const unescapeName = (escaped: string): string =>
  Buffer.from(escaped.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))), "latin1").toString("utf8")

/** Parses `getfattr -d` output: `# file: NAME`, then `attr="value"` lines, then a blank line. */
export const parseOpaqueDirs = (output: string): Array<string> => {
  const found: Array<string> = []
  let file: string | undefined
  for (const line of output.split("\n")) {
    if (line.startsWith("# file: ")) file = unescapeName(line.slice(8))
    else if (file !== undefined && file !== "." && line === `${OPAQUE}="y"`) found.push(file.replace(/^\.\//, ""))
  }
  return found.sort()
}

/**
 * The directories of an upper dir that overlayfs made opaque (removed, then created again), as
 * relative paths. Node has no xattr API, so getfattr (package `attr`) reads them once, when the
 * layer is committed; inspection then never needs to read an xattr.
 */
export const findOpaqueDirs = (dir: string): Effect.Effect<Array<string>, LocalEngineError> =>
  Effect.async((resume) => {
    const child = execFile(
      "getfattr",
      ["--recursive", "--physical", "--no-dereference", "--dump", "--match", `^${OPAQUE.replace(/\./g, "\\.")}$`, "."],
      { cwd: dir, encoding: "latin1", maxBuffer: 256 * 1024 * 1024, env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } },
      (error, stdout, stderr) =>
        resume(
          error === null
            ? Effect.succeed(parseOpaqueDirs(stdout))
            : Effect.fail(internal("cannot read the opaque directories of a new layer")(stderr.trim() || error.message))
        )
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })
