import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { internal, type LocalEngineError } from "../LocalEngineError.js"

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
 * The directories of a run's upper dir that overlayfs made opaque (removed, then created again), as
 * relative paths. Node has no xattr API: the sandbox's setup process lists them with getfattr
 * (package `attr`) while it saves the upper dir (see SandboxScript), once, when the layer is
 * committed; inspection then never needs to read an xattr. No listing means an empty upper dir.
 */
export const readOpaqueDirs = (listing: string): Effect.Effect<Array<string>, LocalEngineError> =>
  Effect.try({
    try: () => (existsSync(listing) ? parseOpaqueDirs(readFileSync(listing, "latin1")) : []),
    catch: internal("cannot read the opaque directories of a new layer")
  })
