import { execa } from "execa";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxSpec } from "@corral/core";
import { collect } from "@corral/core/testing";
import { removeDir, requireTool, tempDir } from "@corral/test-support";
import { createBwrapSandbox as sandbox, detectLimitStrategies } from "../src/index.js";

const run = requireTool((await sandbox().check()).available, "bwrap is not usable here (apt-get install bubblewrap; user namespaces on)");
const reports = await detectLimitStrategies();
const full = reports.find((r) => r.available && ["memoryMb", "pids", "cpuPercent"].every((n) => r.enforces.includes(n as never)));

describe.runIf(run)("bwrap resource limits", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("corral-limits-");
  });
  afterAll(() => removeDir(dir));
  const spec = (limits: SandboxSpec["limits"]): SandboxSpec => ({
    runId: "limits",
    workspace: { path: dir, cwd: dir },
    gitMounts: [],
    home: dir,
    mounts: [],
    env: { PATH: "/usr/bin:/bin" },
    network: "host",
    limits,
  });

  it("check() names the mechanism in force", async () => {
    const availability = await sandbox().check();
    expect(availability.available && availability.detail).toMatch(/^bubblewrap \S+ at \/\S+; (limits via (systemd-run|cgroup-v2|cgroup-v1|prlimit) \(|no limit mechanism)/);
    // The defaults, and plainly whether they are in force here.
    expect(availability.available && availability.detail).toMatch(/; default limits memoryMb 4096, pids 1024 (via (systemd-run|cgroup-v2|cgroup-v1)|NOT enforced here \(.+\)|: .+ NOT enforced here .+); seccomp filter on \((x86_64|aarch64)\)$/);
    const off = await sandbox({ memoryMb: false, pids: false, seccomp: false }).check();
    expect(off.available && off.detail).toMatch(/; no default limits; seccomp filter off$/);
    for (const report of reports) expect(report.available ? report.enforces.length >= 0 : !!report.reason).toBe(true);
  });

  it("enforces every limit with the strongest mechanism, or refuses", async () => {
    const limits = { memoryMb: 256, pids: 64, cpuPercent: 50 };
    if (!full) {
      await expect(sandbox().create(spec(limits))).rejects.toMatchObject({ code: "E_SANDBOX_LIMITS" });
      return;
    }
    // `await using`: a failed expectation must not leave the cgroup behind.
    await using handle = await sandbox().create(spec(limits));
    expect(handle.limits).toEqual({ strategy: full.name, enforced: ["memoryMb", "pids", "cpuPercent"], notEnforced: [], defaults: [] });
  });

  it.runIf(!!full)("default limits go into the sandbox's cgroup; the run's own value wins", async () => {
    await using handle = await sandbox().create(spec({ pids: 64 }));
    expect(handle.limits).toEqual({ strategy: full!.name, enforced: ["memoryMb", "pids"], notEnforced: [], defaults: ["memoryMb"] });
    if (full!.name !== "cgroup-v1") return;
    const value = async (controller: string, file: string) => {
      const found = String((await execa("find", [`/sys/fs/cgroup/${controller}`, "-maxdepth", "6", "-type", "d", "-name", `corral-${handle.id}`], { reject: false })).stdout).trim();
      return (await readFile(join(found, file), "utf8")).trim();
    };
    expect(await value("pids", "pids.max")).toBe("64");
    expect(await value("memory", "memory.limit_in_bytes")).toBe(String(4096 * 1024 * 1024));
  });

  it("default limits can be switched off, and then nothing is limited or joined", async () => {
    await using handle = await sandbox({ memoryMb: false, pids: false }).create(spec({}));
    expect(handle.limits).toEqual({ strategy: "none", enforced: [], notEnforced: [], defaults: [] });
    expect(handle.argvFor(["true"])[0]).toMatch(/bwrap$/);
  });

  it("where only prlimit may be used, the defaults are reported as not enforced and the run still starts (node's WebAssembly works)", async () => {
    const onlyPrlimit = sandbox({ limitStrategy: "prlimit" });
    const availability = await onlyPrlimit.check();
    expect(availability.available && availability.detail).toContain("default limits memoryMb 4096, pids 1024 NOT enforced here");
    await using handle = await onlyPrlimit.create(spec({}));
    expect(handle.limits).toEqual({ strategy: "none", enforced: [], notEnforced: ["memoryMb", "pids"], defaults: ["memoryMb", "pids"] });
    const node = await collect(handle, ["node", "-e", "new WebAssembly.Memory({ initial: 1 }); console.log('wasm ok')"]);
    expect(node.stdout).toEqual(["wasm ok"]);
  });

  it("refuses a limit the chosen mechanism cannot enforce, unless best effort", async () => {
    await expect(sandbox({ limitStrategy: "prlimit" }).create(spec({ pids: 32 }))).rejects.toMatchObject({ code: "E_SANDBOX_LIMITS" });
    await using handle = await sandbox({ limitStrategy: "prlimit", bestEffortLimits: true }).create(spec({ pids: 32, memoryMb: 64 }));
    expect(handle.limits).toEqual({ strategy: "prlimit", enforced: ["memoryMb"], notEnforced: ["pids"], defaults: [] });
    // prlimit's memory limit is real: a 400 MB string cannot be built under a 64 MB address space.
    const hog = await collect(handle, ["sh", "-c", "x=$(head -c 419430400 /dev/zero | tr '\\0' a); echo survived"]);
    expect(hog.stdout).not.toContain("survived");
    expect((await collect(handle, ["echo", "small"])).stdout).toEqual(["small"]);
  });

  it.runIf(!!full)("cpuPercent throttles a busy loop", async () => {
    const spin = ["timeout", "1", "sh", "-c", "i=0; while :; do i=$((i+1)); [ $((i % 20000)) = 0 ] && echo $i; done"];
    const count = async (limits: SandboxSpec["limits"]) => {
      await using handle = await sandbox().create(spec(limits));
      return Number((await collect(handle, spin)).stdout.at(-1) ?? 0);
    };
    const free = await count({});
    const throttled = await count({ cpuPercent: 10 });
    expect(free).toBeGreaterThan(0);
    expect(throttled).toBeLessThan(free * 0.5);
  });

  it.runIf(!!full)("removes its cgroup on close", async () => {
    await using handle = await sandbox().create(spec({ pids: 16 })); // closed below; disposed if an expectation fails first
    const find = async () => String((await execa("find", ["/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", `corral-${handle.id}`], { reject: false })).stdout).trim();
    expect(await find()).not.toBe("");
    await handle.close();
    expect(await find()).toBe("");
  });

  it("wallSeconds stops the sandbox's work and refuses more", async () => {
    await using handle = await sandbox().create(spec({ wallSeconds: 1 }));
    expect(handle.limits.enforced).toContain("wallSeconds");
    const started = performance.now();
    const { result } = await collect(handle, ["sleep", "30"]);
    expect(result.timedOut).toBe(true);
    expect(performance.now() - started).toBeLessThan(15_000);
    await expect(handle.exec(["true"])).rejects.toMatchObject({ code: "E_WALL_CLOCK" });
  });
});

describe("bwrap availability", () => {
  it("a missing bwrap is unavailable with an install hint, and create fails closed", async () => {
    const missing = sandbox({ bwrapPath: "/nonexistent/bwrap" });
    const availability = await missing.check();
    expect(availability).toMatchObject({ available: false });
    expect(!availability.available && availability.hint).toContain("apt-get install bubblewrap");
    const dir = await tempDir();
    try {
      const spec: SandboxSpec = { runId: "x", workspace: { path: dir, cwd: dir }, gitMounts: [], home: dir, mounts: [], env: {}, network: "host", limits: {} };
      await expect(missing.create(spec)).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE" });
    } finally {
      await removeDir(dir);
    }
  });

  it.runIf(run)("a probe that cannot start is unavailable with the namespace hint", async () => {
    // /bin/false stands in for a bwrap whose probe sandbox cannot start (a kernel without user namespaces).
    const availability = await sandbox({ bwrapPath: "/bin/false" }).check();
    expect(availability).toMatchObject({ available: false });
    expect(!availability.available && availability.hint).toContain("user namespaces");
  });
});
