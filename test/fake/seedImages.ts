/** The images every fake backend starts with, and the root filesystem given to imported images. */
import { buildTree, type FileSpec } from "./buildTree.js"
import type { FsTree } from "./FakeFilesystem.js"

/** Fixed so listings and text `ls` output are reproducible. */
const SEED_MTIME = 1_700_000_000

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"

/** The layout shared by all images: a busybox-style `/bin` plus the usual empty directories. */
const skeleton = (osRelease: string): Record<string, FileSpec> => ({
  "/etc/passwd": PASSWD,
  "/etc/os-release": osRelease,
  "/bin/busybox": { content: "\x7fELF fake busybox binary\n", mode: 0o755 },
  "/bin/sh": { symlink: "busybox" },
  "/root/": { content: "", mode: 0o700 },
  "/tmp/": { content: "", mode: 0o1777 },
  "/usr/bin/": "",
  "/usr/local/lib/": ""
})

export interface SeedImage {
  readonly tag: string
  readonly tree: FsTree
}

/** Oldest first; the seeded `created_at` values follow this order. */
export const seedImages = (): SeedImage[] => [
  {
    tag: "busybox:latest",
    tree: buildTree(skeleton('NAME="BusyBox"\nID=busybox\nVERSION_ID=1.36.1\nPRETTY_NAME="BusyBox v1.36.1"\n'), undefined, SEED_MTIME)
  },
  {
    tag: "python:3.11",
    tree: buildTree(
      {
        ...skeleton(
          'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
        ),
        "/usr/local/bin/python3": { content: "\x7fELF fake python 3.11\n", mode: 0o755 }
      },
      undefined,
      SEED_MTIME
    )
  },
  {
    tag: "ubuntu:noble",
    tree: buildTree(
      skeleton('PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\n'),
      undefined,
      SEED_MTIME
    )
  }
]

/** A minimal root filesystem whose `/etc/os-release` names the imported reference. */
export const importedTree = (reference: string): FsTree =>
  buildTree(skeleton(`NAME="${reference}"\nID=imported\nIMAGE_REF=${reference}\n`))
