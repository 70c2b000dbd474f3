import { describe, expect, it } from "vitest";
import { CLONE_NEWUSER, hostSeccompArch, hostSeccompProgram, SECCOMP_RULES, seccompProgram, syscallNumbers, TIOCLINUX, TIOCSTI, type SeccompArch } from "./seccomp.js";

const AUDIT_ARCH = { x86_64: 0xc000003e, aarch64: 0xc00000b7, i386: 0x40000003, arm: 0x40000028 };
const ALLOW = 0x7fff0000;
const KILL_PROCESS = 0x80000000;
const EPERM = 0x00050000 | 1;
const ENOSYS = 0x00050000 | 38;

/**
 * A classic-BPF interpreter for the few instructions a seccomp filter uses, run on a
 * `struct seccomp_data` the way the kernel lays it out; it checks every jump stays in the program.
 */
function evaluate(program: Uint8Array, data: { nr: number; arch: number; args?: number[] }): number {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const seccompData = new DataView(new ArrayBuffer(64));
  seccompData.setUint32(0, data.nr >>> 0, true);
  seccompData.setUint32(4, data.arch >>> 0, true);
  (data.args ?? []).forEach((arg, i) => seccompData.setBigUint64(16 + 8 * i, BigInt(arg), true));
  const count = program.byteLength / 8;
  let accumulator = 0;
  for (let pc = 0; pc < count; pc++) {
    const code = view.getUint16(pc * 8, true);
    const jt = view.getUint8(pc * 8 + 2);
    const jf = view.getUint8(pc * 8 + 3);
    const k = view.getUint32(pc * 8 + 4, true);
    const branch = (taken: boolean) => {
      pc += taken ? jt : jf;
      if (pc + 1 >= count) throw new Error(`jump past the end at ${pc}`);
    };
    switch (code) {
      case 0x20: // ld w abs
        if (k % 4 !== 0 || k >= 64) throw new Error(`bad load offset ${k}`);
        accumulator = seccompData.getUint32(k, true);
        break;
      case 0x15: branch(accumulator === k); break;
      case 0x35: branch(accumulator >= k); break;
      case 0x45: branch((accumulator & k) !== 0); break;
      case 0x06: return k;
      default: throw new Error(`unexpected opcode ${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("the program fell off its end");
}

describe.each(["x86_64", "aarch64"] as const)("the seccomp filter on %s", (arch: SeccompArch) => {
  const program = seccompProgram(arch);
  const nr = syscallNumbers(arch);
  const call = (name: keyof typeof nr, args: number[] = []) => evaluate(program, { nr: nr[name], arch: AUDIT_ARCH[arch], args });
  // Numbers of calls every program makes (read, write, openat, execve, exit_group), on this arch.
  const everyday = arch === "x86_64" ? [0, 1, 257, 59, 231] : [63, 64, 56, 221, 94];

  it("refuses each listed call with its errno", () => {
    for (const rule of SECCOMP_RULES.filter((r) => !r.arg)) expect(call(rule.syscall), rule.syscall).toBe(rule.errno === "EPERM" ? EPERM : ENOSYS);
    expect(call("clone3")).toBe(ENOSYS);
    expect(call("mount")).toBe(EPERM);
  });

  it("refuses a new user namespace through unshare and clone, and allows them otherwise", () => {
    const SIGCHLD = 17;
    const CLONE_NEWNS = 0x20000;
    expect(call("unshare", [CLONE_NEWUSER])).toBe(EPERM);
    expect(call("unshare", [CLONE_NEWUSER | CLONE_NEWNS])).toBe(EPERM);
    expect(call("clone", [CLONE_NEWUSER | SIGCHLD])).toBe(EPERM);
    // Twins: a fork-like clone, a thread, and an unshare of something else pass the filter (the kernel decides).
    expect(call("clone", [SIGCHLD])).toBe(ALLOW);
    expect(call("clone", [0x3d0f00])).toBe(ALLOW); // glibc's pthread_create flags
    expect(call("unshare", [CLONE_NEWNS])).toBe(ALLOW);
    // The high word of a 64-bit flags argument cannot hide the bit.
    expect(call("unshare", [CLONE_NEWUSER + 2 ** 40])).toBe(EPERM);
  });

  it("refuses TIOCSTI and TIOCLINUX, and allows other ioctls", () => {
    expect(call("ioctl", [0, TIOCSTI])).toBe(EPERM);
    expect(call("ioctl", [0, TIOCLINUX])).toBe(EPERM);
    // The kernel reads the request as 32 bits: high bits set do not make it another request.
    expect(call("ioctl", [0, TIOCSTI + 2 ** 32])).toBe(EPERM);
    expect(call("ioctl", [0, 0x5401])).toBe(ALLOW); // TCGETS
    expect(call("ioctl", [0, 0x541b])).toBe(ALLOW); // FIONREAD
  });

  it("allows everyday calls", () => {
    for (const number of everyday) expect(evaluate(program, { nr: number, arch: AUDIT_ARCH[arch] }), String(number)).toBe(ALLOW);
  });

  it("kills a process that calls through another ABI", () => {
    expect(evaluate(program, { nr: everyday[1]!, arch: arch === "x86_64" ? AUDIT_ARCH.i386 : AUDIT_ARCH.arm })).toBe(KILL_PROCESS);
    expect(evaluate(program, { nr: everyday[1]!, arch: arch === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64 })).toBe(KILL_PROCESS);
  });

  it("is a valid program: whole instructions, short enough for the kernel", () => {
    expect(program.byteLength % 8).toBe(0);
    expect(program.byteLength / 8).toBeLessThan(4096);
  });
});

describe("seccomp filter details", () => {
  it("refuses x32 calls on x86_64 (the same audit arch, marked by bit 30)", () => {
    const program = seccompProgram("x86_64");
    expect(evaluate(program, { nr: 0x40000000 + 1, arch: AUDIT_ARCH.x86_64 })).toBe(ENOSYS);
  });

  it("uses the same call numbers as the kernel's unified table where both architectures share it", () => {
    for (const name of ["clone3", "open_tree", "fsopen", "mount_setattr"] as const) expect(syscallNumbers("x86_64")[name]).toBe(syscallNumbers("aarch64")[name]);
  });

  it("refuses a rule list with two rules for one call (the second would never be reached)", () => {
    expect(() => seccompProgram("x86_64", [...SECCOMP_RULES, { syscall: "mount", errno: "ENOSYS", why: "twice" }])).toThrow(/more than one rule/);
  });

  it("knows x86_64 and aarch64, and fails closed elsewhere with a hint", () => {
    expect(hostSeccompArch("x64")).toBe("x86_64");
    expect(hostSeccompArch("arm64")).toBe("aarch64");
    expect(() => hostSeccompProgram("riscv64")).toThrow(expect.objectContaining({ code: "E_SANDBOX_SECCOMP", hint: expect.stringContaining("seccomp: false") }));
  });
});
