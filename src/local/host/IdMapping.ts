/**
 * How ids inside a sandbox relate to ids on the host. As root, sandbox ids 0..65535 map to an
 * unprivileged host range starting at `base`, so a process that escaped would own nothing of the
 * host's. Unprivileged, the only id available is the user's own, which becomes the sandbox's root.
 * Layer files carry host ids; listings show the sandbox's view.
 */
export interface IdMapping {
  readonly uid: number
  readonly gid: number
  /** How many consecutive ids are mapped: 65536 as root, 1 otherwise. */
  readonly count: number
}

/** Shown for host ids outside the mapping, as the kernel does. */
const OVERFLOW_ID = 65534

export const idMapping = (root: boolean, base: number): IdMapping =>
  root
    ? { uid: base, gid: base, count: 65536 }
    : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, count: 1 }

export const toHostUid = (m: IdMapping, uid: number): number | undefined => uid >= 0 && uid < m.count ? m.uid + uid : undefined
export const toHostGid = (m: IdMapping, gid: number): number | undefined => gid >= 0 && gid < m.count ? m.gid + gid : undefined
export const fromHostUid = (m: IdMapping, uid: number): number => uid >= m.uid && uid < m.uid + m.count ? uid - m.uid : OVERFLOW_ID
export const fromHostGid = (m: IdMapping, gid: number): number => gid >= m.gid && gid < m.gid + m.count ? gid - m.gid : OVERFLOW_ID

/** The lines written to `/proc/PID/uid_map` and `gid_map`. */
export const uidMapLine = (m: IdMapping) => `0 ${m.uid} ${m.count}\n`
export const gidMapLine = (m: IdMapping) => `0 ${m.gid} ${m.count}\n`
