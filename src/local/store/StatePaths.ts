import { randomBytes } from "node:crypto"
import { join } from "node:path"

/**
 * The layout of the state directory. Layer directories have short names because the overlay
 * mount lists them all in one option string, which the kernel cuts at a page (4096 bytes).
 *
 * The root is 0700: it holds the databases (0600) and uploads. What a sandbox's setup process
 * reaches once it is the sandbox's root (another host uid when the server is root) lives under
 * `sandbox/` (0711): it enters `sandbox/layers` while still the server's uid (the owner, who may
 * traverse the root) and from there only goes through `..`, never through the root again.
 */
export interface StatePaths {
  readonly root: string
  readonly database: string
  /** `sandbox/`: the directories a sandbox's setup process reaches as the sandbox's root. */
  readonly sandbox: string
  /** `sandbox/layers/<id>`: one read-only layer each, stacked by overlayfs. */
  readonly layers: string
  /** `sandbox/runs/<operation>`: a run's scratch (its saved upper dir); removed when it ends. */
  readonly runs: string
  /** `sandbox/seccomp.bpf`: the sandboxes' seccomp filter (see Seccomp), written at every start; bwrap reads it. */
  readonly seccomp: string
  /** `sandbox/runtime/<key>`: the layers of what a run gets at run time (`/etc/hosts`, …), shared by key (see RuntimeLayer). */
  readonly runtime: string
  /** `blobs/<aa>/<sha256>`: uploaded files, content-addressed. */
  readonly blobs: string
  /** `links/<aa>/<sha256>-<mode>-<uid>-<gid>`: an upload as files layers place it, the inode they link to (see FilesLayer). */
  readonly links: string
  /** Staging for atomic writes: everything is built here, then renamed into place. */
  readonly tmp: string
}

export const statePaths = (root: string): StatePaths => ({
  root,
  database: join(root, "engine.db"),
  sandbox: join(root, "sandbox"),
  layers: join(root, "sandbox", "layers"),
  runs: join(root, "sandbox", "runs"),
  runtime: join(root, "sandbox", "runtime"),
  seccomp: join(root, "sandbox", "seccomp.bpf"),
  blobs: join(root, "blobs"),
  links: join(root, "links"),
  tmp: join(root, "tmp")
})

export const layerDir = (paths: StatePaths, id: string) => join(paths.layers, id)
export const runDir = (paths: StatePaths, operation: string) => join(paths.runs, operation)
export const blobPath = (paths: StatePaths, sha256: string) => join(paths.blobs, sha256.slice(0, 2), sha256)
export const linkSourcePath = (paths: StatePaths, sha256: string, attrs: { readonly mode: number; readonly uid: number; readonly gid: number }) =>
  join(paths.links, sha256.slice(0, 2), `${sha256}-${attrs.mode.toString(8)}-${attrs.uid}-${attrs.gid}`)

/** A new layer directory's name: short, see above. */
export const newLayerId = () => randomBytes(6).toString("hex")
