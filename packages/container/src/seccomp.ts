/**
 * No new user namespaces inside a container. A user namespace hands its creator every capability
 * inside it, which opens kernel code (mounts, netfilter, BPF…) that is a favourite escape route.
 * docker's default seccomp profile refuses it; podman's allows `unshare`, `clone` and `clone3` with
 * any flags. `withoutUserNamespaces` turns an engine's OCI seccomp profile into one that is the
 * same except that `unshare(CLONE_NEWUSER)` and `clone(CLONE_NEWUSER)` fail with EPERM, and
 * `clone3` (whose flags a filter cannot read) with ENOSYS, so libc falls back to `clone` (docker's
 * choice too).
 */

const CLONE_NEWUSER = 0x10000000;
const EPERM = 1;
const ENOSYS = 38;
/** s390 passes clone's flags second. */
const S390 = ["s390", "s390x"];

/** One syscall rule of an OCI seccomp profile (the fields corral reads or writes). */
interface SyscallRule {
  names: string[];
  action: string;
  args?: Array<{ index: number; value: number; valueTwo: number; op: string }> | null;
  errnoRet?: number;
  includes?: { arches?: string[]; caps?: string[] };
  excludes?: { arches?: string[]; caps?: string[] };
  [key: string]: unknown;
}

/** An OCI seccomp profile (containers/common's or docker's format). */
export interface SeccompProfile {
  /** The profile's syscall rules (the only part corral changes). */
  syscalls?: SyscallRule[];
  /** Every other field of the profile (`defaultAction`, `architectures`…), kept as it is. */
  [key: string]: unknown;
}

/** The profile without the syscalls that create user namespaces (see the file's comment). */
export function withoutUserNamespaces(profile: SeccompProfile): SeccompProfile {
  const guarded = new Set(["unshare", "clone", "clone3"]);
  const syscalls = (profile.syscalls ?? [])
    .map((rule) => ({ ...rule, names: rule.names.filter((name) => !guarded.has(name)) }))
    .filter((rule) => rule.names.length > 0);
  const flags = (index: number, value: number) => [{ index, value: CLONE_NEWUSER, valueTwo: value, op: "SCMP_CMP_MASKED_EQ" }];
  syscalls.push(
    { names: ["unshare"], action: "SCMP_ACT_ALLOW", args: flags(0, 0) },
    { names: ["unshare"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: flags(0, CLONE_NEWUSER) },
    { names: ["clone"], action: "SCMP_ACT_ALLOW", args: flags(0, 0), excludes: { arches: S390 } },
    { names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: flags(0, CLONE_NEWUSER), excludes: { arches: S390 } },
    { names: ["clone"], action: "SCMP_ACT_ALLOW", args: flags(1, 0), includes: { arches: S390 } },
    { names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: flags(1, CLONE_NEWUSER), includes: { arches: S390 } },
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
  );
  return { ...profile, syscalls };
}
