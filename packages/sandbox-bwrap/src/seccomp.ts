import { SandboxError } from "@corral/core";

/**
 * The bwrap sandbox's default seccomp filter: a classic BPF program generated here, with no
 * libseccomp. bwrap reads it from a file descriptor (`--seccomp 3`) and loads it into the command
 * and into its own init (pid 1) after it has set up the sandbox, right before the command starts:
 * bwrap's own mounts are done, the agent's are refused. It is a deny list of the calls an agent
 * has no use for and a kernel exploit or a sandbox escape needs; everything else is allowed.
 */

/** The architectures the filter is written for (syscall numbers differ per architecture). */
export type SeccompArch = "x86_64" | "aarch64";

const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;

/** Flags and ioctl requests the rules look at (the same on both architectures). */
export const CLONE_NEWUSER = 0x10000000;
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

/** A call the filter refuses, always or only for some argument values. */
export interface SeccompRule {
  /** The call refused, by its name (numbered per architecture by the filter). */
  syscall: SyscallName;
  /** What the call returns instead. ENOSYS where a caller should fall back to an older call. */
  errno: keyof typeof ERRNO;
  /**
   * Only when the low 32 bits of argument `index` have one of the bits of `anyBit` set, or equal one
   * of `equals` (flags and ioctl requests fit in 32 bits; the kernel reads an ioctl request as 32 bits).
   */
  arg?: { index: number; anyBit: number } | { index: number; equals: readonly number[] };
  /** Why it is refused (shown in the docs). */
  why: string;
}

/** Syscall numbers, checked against `scmp_sys_resolver -a <arch>` (libseccomp 2.5.4) and the kernel headers. */
const SYSCALLS = {
  x86_64: {
    unshare: 272, clone: 56, clone3: 435, setns: 308,
    keyctl: 250, add_key: 248, request_key: 249,
    bpf: 321, perf_event_open: 298, userfaultfd: 323,
    kexec_load: 246, kexec_file_load: 320, init_module: 175, finit_module: 313, delete_module: 176,
    mount: 165, umount2: 166, pivot_root: 155, chroot: 161,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    open_by_handle_at: 304, ioctl: 16,
  },
  aarch64: {
    unshare: 97, clone: 220, clone3: 435, setns: 268,
    keyctl: 219, add_key: 217, request_key: 218,
    bpf: 280, perf_event_open: 241, userfaultfd: 282,
    kexec_load: 104, kexec_file_load: 294, init_module: 105, finit_module: 273, delete_module: 106,
    mount: 40, umount2: 39, pivot_root: 41, chroot: 51,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    open_by_handle_at: 265, ioctl: 29,
  },
} as const;
export type SyscallName = keyof (typeof SYSCALLS)["x86_64"];

/** The syscall numbers the filter uses for `arch` (for tests that check them against the system's). */
export const syscallNumbers = (arch: SeccompArch): Readonly<Record<SyscallName, number>> => SYSCALLS[arch];

const NEW_MOUNT_API = ["open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"] as const;

/** What the default filter refuses, and why. */
export const SECCOMP_RULES: readonly SeccompRule[] = [
  { syscall: "unshare", errno: "EPERM", arg: { index: 0, anyBit: CLONE_NEWUSER }, why: "no new user namespace: inside one the agent has every capability again, and reaches kernel code meant for root" },
  { syscall: "clone", errno: "EPERM", arg: { index: 0, anyBit: CLONE_NEWUSER }, why: "the same, through clone (its flags are the first argument on x86_64 and aarch64)" },
  { syscall: "clone3", errno: "ENOSYS", why: "its flags are in memory a filter cannot read; ENOSYS makes libc fall back to clone, which is checked" },
  { syscall: "setns", errno: "EPERM", why: "no joining other namespaces" },
  { syscall: "keyctl", errno: "EPERM", why: "the kernel keyrings are not namespaced" },
  { syscall: "add_key", errno: "EPERM", why: "the kernel keyrings are not namespaced" },
  { syscall: "request_key", errno: "EPERM", why: "the kernel keyrings are not namespaced" },
  { syscall: "bpf", errno: "EPERM", why: "eBPF programs and maps: a large kernel attack surface" },
  { syscall: "perf_event_open", errno: "EPERM", why: "kernel profiling: side channels and a history of kernel bugs" },
  { syscall: "userfaultfd", errno: "EPERM", why: "lets a process stall the kernel at a chosen page fault, a staple of kernel exploits" },
  { syscall: "kexec_load", errno: "EPERM", why: "loads a new kernel" },
  { syscall: "kexec_file_load", errno: "EPERM", why: "loads a new kernel" },
  { syscall: "init_module", errno: "EPERM", why: "loads kernel modules" },
  { syscall: "finit_module", errno: "EPERM", why: "loads kernel modules" },
  { syscall: "delete_module", errno: "EPERM", why: "unloads kernel modules" },
  { syscall: "mount", errno: "EPERM", why: "the mounts stay as bwrap made them" },
  { syscall: "umount2", errno: "EPERM", why: "the mounts stay as bwrap made them (an unmount could uncover what a mount hides)" },
  { syscall: "pivot_root", errno: "EPERM", why: "the root stays as bwrap made it" },
  { syscall: "chroot", errno: "EPERM", why: "the root stays as bwrap made it" },
  ...NEW_MOUNT_API.map((syscall): SeccompRule => ({ syscall, errno: "ENOSYS", why: "the new mount API, the same as mount (ENOSYS: as on a kernel without it)" })),
  { syscall: "open_by_handle_at", errno: "EPERM", why: "opens files by handle, past the mount table (a known container escape)" },
  { syscall: "ioctl", errno: "EPERM", arg: { index: 1, equals: [TIOCSTI, TIOCLINUX] }, why: "TIOCSTI and TIOCLINUX push keystrokes or a paste into a terminal" },
];

// ------------------------------------------------------------------ classic BPF

// struct seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, then args[6] as u64, the low
// word first on these little-endian architectures.
const OFFSET = { nr: 0, arch: 4, argLow: (index: number) => 16 + 8 * index };
const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };
/** x86_64's x32 ABI shares the x86_64 audit arch; its calls carry this bit. */
const X32_SYSCALL_BIT = 0x40000000;

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;

type Insn = readonly [code: number, jt: number, jf: number, k: number];
const load = (offset: number): Insn => [LD_W_ABS, 0, 0, offset];
const jump = (code: number, k: number, jt: number, jf: number): Insn => [code, jt, jf, k];
const ret = (k: number): Insn => [RET_K, 0, 0, k];
const refuse = (errno: keyof typeof ERRNO): Insn => ret(RET_ERRNO | ERRNO[errno]);

/**
 * The filter for `arch` as bwrap's `--seccomp` reads it: `struct sock_filter` entries (u16 code,
 * u8 jt, u8 jf, u32 k, little-endian). A call from another ABI (32-bit code on a 64-bit host, x32)
 * is not described by the rules, so it kills the process (x32: ENOSYS, as on kernels without x32).
 */
export function seccompProgram(arch: SeccompArch, rules: readonly SeccompRule[] = SECCOMP_RULES): Uint8Array {
  const numbers = SYSCALLS[arch];
  const program: Insn[] = [load(OFFSET.arch), jump(JEQ_K, AUDIT_ARCH[arch], 1, 0), ret(RET_KILL_PROCESS), load(OFFSET.nr)];
  if (arch === "x86_64") program.push(jump(JGE_K, X32_SYSCALL_BIT, 0, 1), refuse("ENOSYS"));
  const seen = new Set<SyscallName>();
  for (const rule of rules) {
    // One block per call: after its argument is loaded, the number is gone from the accumulator.
    if (seen.has(rule.syscall)) throw new TypeError(`seccomp: ${rule.syscall} has more than one rule`);
    seen.add(rule.syscall);
    if (!rule.arg) {
      program.push(jump(JEQ_K, numbers[rule.syscall], 0, 1), refuse(rule.errno));
      continue;
    }
    const values = "anyBit" in rule.arg ? [jump(JSET_K, rule.arg.anyBit, 0, 1)] : rule.arg.equals.map((value) => jump(JEQ_K, value, 0, 1));
    // It is this call: refuse it for a matching argument, allow it otherwise.
    const body = [load(OFFSET.argLow(rule.arg.index)), ...values.flatMap((test) => [test, refuse(rule.errno)]), ret(RET_ALLOW)];
    program.push(jump(JEQ_K, numbers[rule.syscall], 0, body.length), ...body);
  }
  program.push(ret(RET_ALLOW));

  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return bytes;
}

/** The architecture this process runs on, if the filter is written for it. */
export function hostSeccompArch(nodeArch: string = process.arch): SeccompArch | undefined {
  return nodeArch === "x64" ? "x86_64" : nodeArch === "arm64" ? "aarch64" : undefined;
}

/** The filter for this machine; fails closed where it is not written for the architecture. */
export function hostSeccompProgram(nodeArch: string = process.arch): { arch: SeccompArch; program: Uint8Array } {
  const arch = hostSeccompArch(nodeArch);
  if (!arch) {
    throw new SandboxError(`The bwrap sandbox's seccomp filter is written for x86_64 and aarch64, not ${nodeArch}.`, {
      code: "E_SANDBOX_SECCOMP",
      hint: "Set the bwrap option seccomp: false to run without the filter (user namespaces, mount, keyctl, bpf and the rest stay allowed inside), or run on x86_64 or aarch64.",
    });
  }
  return { arch, program: seccompProgram(arch) };
}
