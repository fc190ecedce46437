import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  AUDIT_ARCH,
  CLONE_NAMESPACE_FLAGS,
  describeSeccomp,
  ENOSYS,
  EPERM,
  hostSeccompArch,
  NEWEST_SYSCALL,
  PERSONALITIES,
  REFUSED,
  ruleCount,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SOCKET_DOMAINS,
  type SeccompArch,
  seccompInstructions,
  seccompProgram,
  SYSCALLS,
  type SyscallName
} from "../../../src/local/sandbox/Seccomp.js"
import { describeHost, probeHost, unavailableReason } from "../../../src/local/host/HostCapabilities.js"
import { resolveSettings } from "../../../src/local/LocalEngineOptions.js"

interface SeccompData {
  readonly nr: number
  readonly arch: number
  readonly args?: ReadonlyArray<bigint>
}

/**
 * A classic BPF interpreter for seccomp, from the bytes bwrap reads: only the instructions the
 * kernel's seccomp checker accepts, with its rules (forward jumps in range, 32-bit aligned loads
 * inside seccomp_data, a return on every path); anything else throws.
 */
const interpret = (program: Uint8Array, data: SeccompData): number => {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength)
  const count = program.byteLength / 8
  assert.isTrue(Number.isInteger(count) && count > 0 && count <= 4096, "program length")
  const record = new DataView(new ArrayBuffer(64))
  record.setInt32(0, data.nr, true)
  record.setUint32(4, data.arch, true)
  record.setBigUint64(8, 0x7fff_1234_5678n, true)
  ;(data.args ?? []).forEach((arg, i) => record.setBigUint64(16 + i * 8, BigInt.asUintN(64, arg), true))
  let a = 0
  let pc = 0
  for (let steps = 0; steps <= count; steps++) {
    if (pc >= count) throw new Error(`fell off the program at ${pc}`)
    const code = view.getUint16(pc * 8, true)
    const jt = view.getUint8(pc * 8 + 2)
    const jf = view.getUint8(pc * 8 + 3)
    const k = view.getUint32(pc * 8 + 4, true)
    const jump = (cond: boolean) => {
      pc += 1 + (cond ? jt : jf)
    }
    switch (code) {
      case 0x20: // ld [k]
        if (k % 4 !== 0 || k > 60) throw new Error(`bad load at ${k}`)
        a = record.getUint32(k, true)
        pc++
        break
      case 0x54: // and #k
        a = (a & k) >>> 0
        pc++
        break
      case 0x05: // ja
        pc += 1 + k
        break
      case 0x15:
        jump(a === k)
        break
      case 0x25:
        jump(a > k)
        break
      case 0x35:
        jump(a >= k)
        break
      case 0x06:
        return k
      default:
        throw new Error(`instruction ${code.toString(16)} at ${pc}`)
    }
  }
  throw new Error("no return")
}

const program = seccompProgram()
const ARCHES: ReadonlyArray<SeccompArch> = ["x86_64", "i386", "aarch64"]
const COLUMN = { x86_64: 0, i386: 1, aarch64: 2 } as const
const nr = (arch: SeccompArch, name: SyscallName): number | null => SYSCALLS[name][COLUMN[arch]]
const call = (arch: SeccompArch, number: number, ...args: Array<bigint>) => interpret(program, { arch: AUDIT_ARCH[arch], nr: number, args })
const errno = (e: number) => SECCOMP_RET_ERRNO | e

/** Ordinary syscalls, by number: [x86_64, i386, aarch64]. */
const ORDINARY: Record<string, readonly [number | null, number | null, number | null]> = {
  read: [0, 3, 63],
  write: [1, 4, 64],
  openat: [257, 295, 56],
  getpid: [39, 20, 172],
  socket: [41, 359, 198],
  execve: [59, 11, 221],
  exit_group: [231, 252, 94],
  fork: [57, 2, null],
  vfork: [58, 190, null],
  memfd_create: [319, 356, 279],
  ptrace: [101, 26, 117],
  process_vm_readv: [310, 347, 270],
  seccomp: [317, 354, 277],
  chroot: [161, 61, 51],
  pidfd_open: [434, 434, 434],
  close_range: [436, 436, 436],
  faccessat2: [439, 439, 439],
  landlock_create_ruleset: [444, 444, 444],
  futex_waitv: [449, 449, 449],
  fchmodat2: [452, 452, 452],
  mseal: [462, 462, 462],
  removexattrat: [466, 466, 466],
  clock_adjtime: [305, 343, 266],
  name_to_handle_at: [303, 341, 264],
  rt_sigaction: [13, 174, 134],
  modify_ldt: [154, 123, null],
  arch_prctl: [158, 384, null]
}

describe("seccomp filter", () => {
  for (const arch of ARCHES) {
    describe(arch, () => {
      const refused = REFUSED.flatMap(([, names]) => names).filter((name) => nr(arch, name) !== null)

      it("refuses every syscall Docker's profile refuses, with EPERM", () => {
        assert.isAbove(refused.length, 40)
        for (const name of refused) assert.strictEqual(call(arch, nr(arch, name)!), errno(EPERM), name)
      })

      it("answers clone3 with ENOSYS, so glibc falls back to clone", () => {
        assert.strictEqual(call(arch, nr(arch, "clone3")!), errno(ENOSYS))
      })

      it("allows ordinary syscalls, fork and memfd_create among them", () => {
        for (const [name, numbers] of Object.entries(ORDINARY)) {
          const n = numbers[COLUMN[arch]]
          if (n !== null && n !== undefined) assert.strictEqual(call(arch, n), SECCOMP_RET_ALLOW, name)
        }
      })

      it("allows every number below the newest that the table does not name", () => {
        const named = new Set<number | null>(Object.values(SYSCALLS).map((numbers) => numbers[COLUMN[arch]]))
        for (let n = 0; n <= NEWEST_SYSCALL; n++) {
          if (!named.has(n)) assert.strictEqual(call(arch, n), SECCOMP_RET_ALLOW, String(n))
        }
      })

      it("answers syscalls newer than the table with ENOSYS", () => {
        for (const n of [NEWEST_SYSCALL + 1, 467, 468, 470, 1000, 0x3fffffff, 0xffffffff]) {
          assert.strictEqual(call(arch, n), errno(ENOSYS), String(n))
        }
      })

      it("allows clone without namespace flags and refuses each namespace flag", () => {
        const clone = nr(arch, "clone")!
        // fork() through clone, pthread_create's flags, vfork's.
        for (const flags of [0x11n, 0x3d0f00n, 0x4111n, 0n]) assert.strictEqual(call(arch, clone, flags), SECCOMP_RET_ALLOW, String(flags))
        for (let bit = 0; bit < 32; bit++) {
          const flag = 1 << bit
          if ((CLONE_NAMESPACE_FLAGS & flag) === 0) continue
          assert.strictEqual(call(arch, clone, BigInt(flag >>> 0) | 0x11n), errno(EPERM), `flag ${flag.toString(16)}`)
        }
        // CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID|CLONE_NEWNET, with a signal.
        for (const flags of [0x10000000n, 0x00020000n, 0x60000011n]) assert.strictEqual(call(arch, clone, flags), errno(EPERM))
        // The kernel reads the low 32 bits only: high bits change nothing.
        assert.strictEqual(call(arch, clone, 0xffffffff_00000011n), SECCOMP_RET_ALLOW)
        assert.strictEqual(call(arch, clone, 0xffffffff_10000000n), errno(EPERM))
      })

      it("allows only the socket domains Docker allows", () => {
        const socket = nr(arch, "socket")!
        // AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_BLUETOOTH, AF_KCM, AF_XDP; the kernel reads an int.
        for (const domain of [0n, 1n, 2n, 10n, 11n, 16n, 17n, 31n, 41n, 44n, 0xffffffff_00000002n]) {
          assert.strictEqual(call(arch, socket, domain, 1n), SECCOMP_RET_ALLOW, String(domain))
        }
        // AF_DECnet, AF_ECONET, AF_IRDA, AF_ALG, AF_VSOCK, past AF_MCTP, -1.
        for (const domain of [12n, 19n, 23n, 38n, 40n, 46n, 1000n, 0xffffffffn]) {
          assert.strictEqual(call(arch, socket, domain, 1n), errno(EPERM), String(domain))
        }
        for (let domain = 0; domain < 64; domain++) {
          const allowed = domain < 12 || SOCKET_DOMAINS.includes(domain)
          assert.strictEqual(call(arch, socket, BigInt(domain)), allowed ? SECCOMP_RET_ALLOW : errno(EPERM), String(domain))
        }
      })

      it("allows only Docker's personality values", () => {
        const personality = nr(arch, "personality")!
        for (const value of PERSONALITIES) assert.strictEqual(call(arch, personality, BigInt(value)), SECCOMP_RET_ALLOW, String(value))
        // ADDR_NO_RANDOMIZE (setarch -R), READ_IMPLIES_EXEC, PER_BSD.
        for (const value of [0x0040000n, 0x0400000n, 0x6n, 0x1n]) assert.strictEqual(call(arch, personality, value), errno(EPERM), String(value))
      })
    })
  }

  it("refuses x32 calls on x86_64 with ENOSYS", () => {
    for (const n of [0, 1, 57, 512, 0x3fff]) assert.strictEqual(call("x86_64", 0x40000000 + n), errno(ENOSYS), String(n))
  })

  it("kills the process on any other architecture", () => {
    // arm (EABI), riscv64, ppc64le, s390x, x32's own (none), garbage.
    for (const arch of [0x40000028, 0xc00000f3, 0xc0000015, 0x80000016, 0, 0xffffffff, AUDIT_ARCH.x86_64 ^ 1]) {
      for (const n of [0, 1, 56, 57, 272]) assert.strictEqual(interpret(program, { arch, nr: n }), SECCOMP_RET_KILL_PROCESS, `${arch}:${n}`)
    }
  })

  it("is a valid program: known instructions, forward jumps within it, a return at the end", () => {
    const instructions = seccompInstructions()
    assert.isAtMost(instructions.length, 4096)
    assert.strictEqual(program.byteLength, instructions.length * 8)
    instructions.forEach((ins, i) => {
      assert.include([0x20, 0x54, 0x05, 0x15, 0x25, 0x35, 0x06], ins.code, `instruction ${i}`)
      const targets = ins.code === 0x05 ? [ins.k] : ins.code === 0x06 ? [] : [ins.jt, ins.jf]
      for (const t of targets) assert.isBelow(i + 1 + t, instructions.length, `jump at ${i}`)
    })
    assert.strictEqual(instructions[instructions.length - 1]!.code, 0x06)
  })

  it("counts its rules and names the host's arch", () => {
    assert.strictEqual(hostSeccompArch("x64"), "x86_64")
    assert.strictEqual(hostSeccompArch("arm64"), "aarch64")
    assert.strictEqual(hostSeccompArch("riscv64"), undefined)
    assert.isAbove(ruleCount("x86_64"), 50)
    assert.match(describeSeccomp("x86_64"), new RegExp(`^seccomp: Docker's default profile \\(${ruleCount("x86_64")} rules, x86_64`))
    assert.match(describeSeccomp(undefined, "riscv64"), /no filter for this architecture \(riscv64\)/)
  })

  it.effect("is reported by doctor's host description", () =>
    Effect.gen(function*() {
      const settings = resolveSettings({ stateDir: join(tmpdir(), "contree-doctor-unused") })
      const host = yield* probeHost(settings)
      const arch = hostSeccompArch()
      assert.strictEqual(host.seccompArch, arch)
      assert.include(describeHost(host, settings), describeSeccomp(arch))
      assert.include(unavailableReason({ ...host, missing: [], seccompArch: undefined }) ?? "", "seccomp filter knows no syscall numbers")
    }))

  // The table's numbers against the kernel headers installed here (linux-libc-dev), where they are.
  const headers = {
    x86_64: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    i386: "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
    aarch64: "/usr/include/asm-generic/unistd.h"
  } as const
  const gcc = spawnSync("gcc", ["--version"]).status === 0
  for (const arch of ARCHES) {
    it.skipIf(!gcc || !existsSync(headers[arch]))(`has ${arch}'s numbers as the kernel headers define them`, () => {
      const dir = mkdtempSync(join(tmpdir(), "contree-unistd-"))
      try {
        const source = join(dir, "u.c")
        writeFileSync(
          source,
          arch === "aarch64"
            ? "#define __BITS_PER_LONG 64\n#define __ARCH_WANT_RENAMEAT\n#define __ARCH_WANT_NEW_STAT\n#define __ARCH_WANT_SET_GET_RLIMIT\n" +
              "#define __ARCH_WANT_SYS_CLONE3\n#include <asm-generic/unistd.h>\n"
            : `#include "${headers[arch]}"\n`
        )
        const macros = new Map(
          execFileSync("gcc", ["-dM", "-E", source], { encoding: "utf8" }).split("\n").map((line) => line.split(" ")).filter((w) => w[0] === "#define")
            .map((w) => [w[1]!, w[2]!] as const)
        )
        const value = (name: string): number | undefined => {
          const v = macros.get(name)
          return v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : value(v)
        }
        let checked = 0
        for (const [name, numbers] of [...Object.entries(SYSCALLS), ...Object.entries(ORDINARY)]) {
          const expected = value(`__NR_${name}`)
          if (expected === undefined) continue // newer than these headers, or not on this arch
          assert.strictEqual(numbers[COLUMN[arch]], expected, name)
          checked++
        }
        assert.isAbove(checked, 50)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})
