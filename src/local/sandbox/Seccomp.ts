/**
 * The seccomp filter every sandbox's command runs under: the semantics of Docker's default
 * profile for a container with Docker's default capabilities (no CAP_SYS_ADMIN, CAP_SYS_PTRACE,
 * CAP_SYS_NICE, …), as a classic BPF program that bwrap loads with `--seccomp FD` just before it
 * execs the command.
 *
 * Why a small emitter of our own: no well-kept Node library builds seccomp programs (libseccomp
 * has no maintained binding, and a native addon or a helper binary would be a build dependency
 * for a program of a few hundred instructions). The program is generated here from the readable tables below
 * and test/local/sandbox/Seccomp.test.ts runs it, instruction by instruction, in a BPF interpreter
 * over every syscall of the table on every architecture.
 *
 * What it does, in order:
 * - `seccomp_data.arch` first: x86_64, i386 (the compat calls of an x86_64 kernel: `int 0x80`,
 *   32-bit programs) and aarch64 each get their own syscall numbers; any other architecture
 *   kills the process (fail closed: numbers mean nothing on an arch we do not know; 32-bit ARM
 *   programs on aarch64 among them, which Docker would run).
 * - x32 calls (x86_64 with bit 30 of the number set) and numbers above the newest syscall the
 *   table knows get ENOSYS, as from a kernel without them (runc does the same for syscalls newer
 *   than its profile; glibc falls back).
 * - The refused syscalls get EPERM, as Docker's default action returns; `clone3` gets ENOSYS, as
 *   in Docker, so glibc falls back to `clone`, whose flags can be checked; `clone` with a
 *   namespace flag (low 32 bits of args[0]: the kernel reads no more) gets EPERM; `personality`
 *   takes only the values Docker allows.
 * - `socket` takes only the address families Docker allows (no AF_VSOCK, AF_ALG, …).
 * - Everything else is allowed: Docker's profile is an allow list of ~370 syscalls, this is a
 *   deny list of the ones it leaves out that the kernels we run on have, with the newest-number
 *   cut-off standing in for the allow list's refusal of syscalls it does not know. `ptrace` and
 *   `process_vm_*` are allowed, as Docker allows them on kernels >= 4.8.
 *
 * No rule reads the instruction pointer, so the kernel's per-syscall action cache answers every
 * syscall whose rule reads no argument (all but clone, personality and socket) without running
 * the program.
 */

/** The architectures the filter knows, by `uname -m` name. */
export type SeccompArch = "x86_64" | "i386" | "aarch64"

/** `AUDIT_ARCH_*` (linux/audit.h): what `seccomp_data.arch` holds. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = {
  x86_64: 0xc000003e,
  i386: 0x40000003,
  aarch64: 0xc00000b7
}

export const EPERM = 1
export const ENOSYS = 38

/** Syscall numbers: [x86_64, i386, aarch64]; null where the arch has no such call. */
type Numbers = readonly [x86_64: number | null, i386: number | null, aarch64: number | null]
const ARCH_COLUMN: Readonly<Record<SeccompArch, 0 | 1 | 2>> = { x86_64: 0, i386: 1, aarch64: 2 }

/** From the kernel's unistd headers (checked against the installed ones by the tests). */
export const SYSCALLS = {
  _sysctl: [156, 149, null],
  acct: [163, 51, 89],
  add_key: [248, 286, 217],
  bpf: [321, 357, 280],
  clock_settime: [227, 264, 112],
  clock_settime64: [null, 404, null],
  clone: [56, 120, 220],
  clone3: [435, 435, 435],
  create_module: [174, 127, null],
  delete_module: [176, 129, 106],
  fanotify_init: [300, 338, 262],
  finit_module: [313, 350, 273],
  fsconfig: [431, 431, 431],
  fsmount: [432, 432, 432],
  fsopen: [430, 430, 430],
  fspick: [433, 433, 433],
  get_kernel_syms: [177, 130, null],
  get_mempolicy: [239, 275, 236],
  init_module: [175, 128, 105],
  io_uring_enter: [426, 426, 426],
  io_uring_register: [427, 427, 427],
  io_uring_setup: [425, 425, 425],
  ioperm: [173, 101, null],
  iopl: [172, 110, null],
  kcmp: [312, 349, 272],
  kexec_file_load: [320, null, 294],
  kexec_load: [246, 283, 104],
  lsm_get_self_attr: [459, 459, 459],
  lsm_list_modules: [461, 461, 461],
  lsm_set_self_attr: [460, 460, 460],
  keyctl: [250, 288, 219],
  lookup_dcookie: [212, 253, 18],
  mbind: [237, 274, 235],
  migrate_pages: [256, 294, 238],
  mount: [165, 21, 40],
  mount_setattr: [442, 442, 442],
  move_mount: [429, 429, 429],
  move_pages: [279, 317, 239],
  nfsservctl: [180, 169, 42],
  open_by_handle_at: [304, 342, 265],
  open_tree: [428, 428, 428],
  perf_event_open: [298, 336, 241],
  personality: [135, 136, 92],
  pidfd_getfd: [438, 438, 438],
  pivot_root: [155, 217, 41],
  process_madvise: [440, 440, 440],
  query_module: [178, 167, null],
  quotactl: [179, 131, 60],
  quotactl_fd: [443, 443, 443],
  reboot: [169, 88, 142],
  request_key: [249, 287, 218],
  set_mempolicy: [238, 276, 237],
  set_mempolicy_home_node: [450, 450, 450],
  setdomainname: [171, 121, 162],
  sethostname: [170, 74, 161],
  socket: [41, 359, 198],
  setns: [308, 346, 268],
  settimeofday: [164, 79, 170],
  stime: [null, 25, null],
  swapoff: [168, 115, 225],
  swapon: [167, 87, 224],
  syslog: [103, 103, 116],
  sysfs: [139, 135, null],
  umount: [null, 22, null],
  umount2: [166, 52, 39],
  unshare: [272, 310, 97],
  uselib: [134, 86, null],
  userfaultfd: [323, 374, 282],
  ustat: [136, 62, null],
  vhangup: [153, 111, 58],
  vm86: [null, 166, null],
  vm86old: [null, 113, null],
  // i386's old calls, which Docker's allow list leaves out (their successors are in it).
  bdflush: [null, 134, null],
  nice: [null, 34, null],
  oldfstat: [null, 28, null],
  oldlstat: [null, 84, null],
  oldolduname: [null, 59, null],
  oldstat: [null, 18, null],
  olduname: [null, 109, null],
  readdir: [null, 89, null],
  sgetmask: [null, 68, null],
  sigaction: [null, 67, null],
  signal: [null, 48, null],
  sigpending: [null, 73, null],
  sigsuspend: [null, 72, null],
  ssetmask: [null, 69, null]
} as const satisfies Record<string, Numbers>

export type SyscallName = keyof typeof SYSCALLS

/**
 * The newest syscall Docker's profile knows (`removexattrat`, Linux 6.13; one number on every arch
 * since 424): newer ones (`open_tree_attr`, `file_getattr`, …) get ENOSYS.
 */
export const NEWEST_SYSCALL = 466

/** x32 calls: x86_64's arch with this bit in the number. */
export const X32_SYSCALL_BIT = 0x40000000

/** What Docker's default profile refuses (EPERM), by why it does. */
export const REFUSED: ReadonlyArray<readonly [why: string, names: ReadonlyArray<SyscallName>]> = [
  ["kernel keyrings are not namespaced", ["add_key", "keyctl", "request_key"]],
  ["io_uring (refused since Docker 25)", ["io_uring_setup", "io_uring_enter", "io_uring_register"]],
  ["userfaultfd: the usual tool of kernel exploits", ["userfaultfd"]],
  ["CAP_SYS_ADMIN: mounts", [
    "mount", "umount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"
  ]],
  ["CAP_SYS_ADMIN: namespaces (clone's flags below)", ["unshare", "setns"]],
  ["CAP_SYS_ADMIN: the rest", [
    "bpf", "perf_event_open", "fanotify_init", "lookup_dcookie", "quotactl", "quotactl_fd", "swapon", "swapoff", "sethostname",
    "setdomainname", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules"
  ]],
  ["CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module"]],
  ["CAP_SYS_BOOT", ["reboot", "kexec_load", "kexec_file_load"]],
  ["CAP_SYS_TIME: the clock is not namespaced", ["settimeofday", "stime", "clock_settime", "clock_settime64"]],
  ["CAP_SYS_NICE: NUMA memory policy", ["get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind", "migrate_pages", "move_pages"]],
  ["CAP_SYS_PTRACE: reaching into other processes", ["kcmp", "pidfd_getfd", "process_madvise"]],
  ["CAP_SYS_RAWIO", ["ioperm", "iopl"]],
  ["CAP_DAC_READ_SEARCH: opening by file handle", ["open_by_handle_at"]],
  ["CAP_SYSLOG", ["syslog"]],
  ["CAP_SYS_PACCT", ["acct"]],
  ["CAP_SYS_TTY_CONFIG", ["vhangup"]],
  ["obsolete", ["_sysctl", "sysfs", "ustat", "uselib", "nfsservctl", "vm86", "vm86old"]],
  ["i386's old calls", [
    "bdflush", "nice", "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "readdir", "sgetmask", "ssetmask", "sigaction",
    "signal", "sigpending", "sigsuspend"
  ]]
]

/** clone's namespace flags Docker refuses without CAP_SYS_ADMIN: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

/** The `personality` values Docker allows: PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, and the query 0xffffffff. */
export const PERSONALITIES: ReadonlyArray<number> = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff]

/**
 * The `socket` domains Docker allows: below AF_DECnet (12), and these (AF_ROUTE … AF_MCTP, less
 * AF_ECONET, AF_ATMSVC, AF_IRDA, AF_WANPIPE, AF_ISDN, AF_CAIF, AF_ALG and AF_VSOCK).
 */
export const SOCKET_DOMAINS_BELOW = 12
export const SOCKET_DOMAINS: ReadonlyArray<number> = [13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45]

/** The syscalls with a rule: how many `doctor` reports. */
export const ruleCount = (arch: SeccompArch): number =>
  [...REFUSED.flatMap(([, names]) => names), "clone", "clone3", "personality", "socket"].filter((name) =>
    SYSCALLS[name as SyscallName][ARCH_COLUMN[arch]] !== null
  ).length

// ---- classic BPF (linux/filter.h, linux/seccomp.h) ----

const BPF_LD_W_ABS = 0x00 | 0x00 | 0x20
const BPF_ALU_AND_K = 0x04 | 0x50 | 0x00
const BPF_JMP_JA = 0x05 | 0x00
const BPF_JMP_JEQ_K = 0x05 | 0x10 | 0x00
const BPF_JMP_JGT_K = 0x05 | 0x20 | 0x00
const BPF_JMP_JGE_K = 0x05 | 0x30 | 0x00
const BPF_RET_K = 0x06 | 0x00

export const SECCOMP_RET_KILL_PROCESS = 0x80000000
export const SECCOMP_RET_ERRNO = 0x00050000
export const SECCOMP_RET_ALLOW = 0x7fff0000

/** `struct seccomp_data` offsets: nr, arch, then args[6] (u64, little-endian on every arch here: low half first). */
const NR = 0
const ARCH = 4
const ARG0_LOW = 16

/** One `struct sock_filter`. */
export interface Instruction {
  readonly code: number
  readonly jt: number
  readonly jf: number
  readonly k: number
}

type Target = string | undefined
type Pending =
  | { readonly label: string }
  | { readonly code: number; readonly k: number; readonly jt?: Target; readonly jf?: Target }

/** A tiny assembler: jumps name labels (undefined: the next instruction), resolved to forward offsets that must fit a u8 (`ja`: 32 bits). */
const assemble = (items: ReadonlyArray<Pending>): Array<Instruction> => {
  const labels = new Map<string, number>()
  const code: Array<Exclude<Pending, { label: string }>> = []
  for (const item of items) {
    if ("label" in item) {
      if (labels.has(item.label)) throw new Error(`seccomp: label ${item.label} twice`)
      labels.set(item.label, code.length)
    } else code.push(item)
  }
  const offset = (from: number, target: Target, max: number) => {
    if (target === undefined) return 0
    const to = labels.get(target)
    if (to === undefined) throw new Error(`seccomp: no label ${target}`)
    const delta = to - from - 1
    if (delta < 0 || delta > max) throw new Error(`seccomp: jump to ${target} out of range (${delta})`)
    return delta
  }
  return code.map((ins, i) =>
    ins.code === BPF_JMP_JA
      ? { code: ins.code, jt: 0, jf: 0, k: offset(i, ins.jt, 0xffffffff) }
      : { code: ins.code, jt: offset(i, ins.jt, 255), jf: offset(i, ins.jf, 255), k: ins.k >>> 0 }
  )
}

const load = (at: number): Pending => ({ code: BPF_LD_W_ABS, k: at })
const ret = (k: number): Pending => ({ code: BPF_RET_K, k })
const jeq = (k: number, jt?: Target, jf?: Target): Pending => ({ code: BPF_JMP_JEQ_K, k, jt, jf })
const label = (name: string): Pending => ({ label: name })

/** One arch's part: its syscall number against the table. */
const archBlock = (arch: SeccompArch): Array<Pending> => {
  const nr = (name: SyscallName): number | null => SYSCALLS[name][ARCH_COLUMN[arch]]
  const at = (name: string) => `${arch}:${name}`
  const refused = REFUSED.flatMap(([, names]) => names).map(nr).filter((n): n is number => n !== null)
  const clone = nr("clone")!
  const personality = nr("personality")!
  return [
    label(at("start")),
    load(NR),
    ...(arch === "x86_64" ? [{ code: BPF_JMP_JGE_K, k: X32_SYSCALL_BIT, jt: at("enosys") }] : []),
    { code: BPF_JMP_JGT_K, k: NEWEST_SYSCALL, jt: at("enosys") },
    ...refused.map((n) => jeq(n, at("eperm"))),
    jeq(nr("clone3")!, at("enosys")),
    jeq(clone, at("clone")),
    jeq(personality, at("personality")),
    jeq(nr("socket")!, at("socket")),
    ret(SECCOMP_RET_ALLOW),
    label(at("clone")),
    load(ARG0_LOW),
    { code: BPF_ALU_AND_K, k: CLONE_NAMESPACE_FLAGS },
    jeq(0, at("allow"), at("eperm")),
    label(at("personality")),
    load(ARG0_LOW),
    ...PERSONALITIES.map((value) => jeq(value, at("allow"))),
    { code: BPF_JMP_JA, k: 0, jt: at("eperm") },
    label(at("socket")),
    load(ARG0_LOW),
    { code: BPF_JMP_JGE_K, k: SOCKET_DOMAINS_BELOW, jf: at("allow") },
    ...SOCKET_DOMAINS.map((domain) => jeq(domain, at("allow"))),
    label(at("eperm")),
    ret(SECCOMP_RET_ERRNO | EPERM),
    label(at("enosys")),
    ret(SECCOMP_RET_ERRNO | ENOSYS),
    label(at("allow")),
    ret(SECCOMP_RET_ALLOW)
  ]
}

const ARCHES: ReadonlyArray<SeccompArch> = ["x86_64", "i386", "aarch64"]

/** The filter's instructions. */
export const seccompInstructions = (): Array<Instruction> =>
  assemble([
    load(ARCH),
    ...ARCHES.flatMap((arch) => [jeq(AUDIT_ARCH[arch], undefined, `${arch}:next`), { code: BPF_JMP_JA, k: 0, jt: `${arch}:start` }, label(`${arch}:next`)]),
    ret(SECCOMP_RET_KILL_PROCESS),
    ...ARCHES.flatMap(archBlock)
  ])

/** The program as bwrap's `--seccomp FD` reads it: `struct sock_filter` {u16 code; u8 jt; u8 jf; u32 k}, native (little) endian. */
export const seccompProgram = (): Uint8Array => {
  const instructions = seccompInstructions()
  const bytes = new Uint8Array(instructions.length * 8)
  const view = new DataView(bytes.buffer)
  instructions.forEach((ins, i) => {
    view.setUint16(i * 8, ins.code, true)
    view.setUint8(i * 8 + 2, ins.jt)
    view.setUint8(i * 8 + 3, ins.jf)
    view.setUint32(i * 8 + 4, ins.k, true)
  })
  return bytes
}

/** This machine's arch as the filter names it, if the filter knows it (Node's names: x64, ia32, arm64). */
export const hostSeccompArch = (nodeArch: string = process.arch): SeccompArch | undefined =>
  ({ x64: "x86_64", ia32: "i386", arm64: "aarch64" } as Record<string, SeccompArch | undefined>)[nodeArch]

/** The `doctor` line. */
export const describeSeccomp = (arch: SeccompArch | undefined, nodeArch: string = process.arch): string =>
  arch === undefined
    ? `seccomp: no filter for this architecture (${nodeArch}): sandboxes cannot run`
    : `seccomp: Docker's default profile (${ruleCount(arch)} rules, ${arch}${arch === "x86_64" ? "; i386 calls filtered alike, x32 refused" : ""}); ` +
      "new user namespaces refused"
