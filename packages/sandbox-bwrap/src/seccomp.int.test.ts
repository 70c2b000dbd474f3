import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { hasCommand, requireTool } from "@corral/test-support";
import { syscallNumbers } from "./seccomp.js";

// libseccomp's own tables (apt-get install seccomp) check ours, for both architectures.
const run = requireTool(await hasCommand("scmp_sys_resolver"), "scmp_sys_resolver is not installed (apt-get install seccomp)");

describe.runIf(run)("the seccomp filter's syscall numbers", () => {
  it.each(["x86_64", "aarch64"] as const)("match libseccomp's on %s", async (arch) => {
    const ours = syscallNumbers(arch);
    const theirs: Record<string, number> = {};
    for (const name of Object.keys(ours)) theirs[name] = Number((await execa("scmp_sys_resolver", ["-a", arch, name])).stdout.trim());
    expect(theirs).toEqual(ours);
  });
});
