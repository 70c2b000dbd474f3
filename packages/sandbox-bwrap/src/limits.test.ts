import { describe, expect, it } from "vitest";
import { cgroupV1Dirs, cgroupV2Dir, chooseLimitStrategy, type LimitStrategy } from "./limits.js";

// Real /proc/self/cgroup and /proc/self/mountinfo excerpts (a cgroup v1 host, and a v2 one).
const V1_CGROUP = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/9bc8\n1:cpu:/\n0::/\n";
const V1_MOUNTINFO = [
  "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu",
  "33 25 0:29 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory",
  "36 25 0:32 / /sys/fs/cgroup/pids rw,relatime shared:15 - cgroup cgroup rw,pids",
  "38 25 0:34 / /sys/fs/cgroup/unified rw,relatime shared:17 - cgroup2 cgroup2 rw",
].join("\n");
const V2_CGROUP = "0::/user.slice/user-1000.slice/session-3.scope\n";
const V2_MOUNTINFO = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate";

describe("cgroup discovery", () => {
  it("finds each v1 controller's folder for this process", () => {
    expect(cgroupV1Dirs(V1_CGROUP, V1_MOUNTINFO)).toEqual({
      cpu: "/sys/fs/cgroup/cpu",
      memory: "/sys/fs/cgroup/memory/process_api/9bc8",
      pids: "/sys/fs/cgroup/pids",
    });
  });
  it("maps a v1 path under a mount whose root is not / (inside a container)", () => {
    const mountinfo = "33 25 0:29 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";
    expect(cgroupV1Dirs("4:memory:/docker/abc/child\n", mountinfo)).toEqual({ memory: "/sys/fs/cgroup/memory/child" });
    expect(cgroupV1Dirs("4:memory:/elsewhere\n", mountinfo)).toEqual({});
  });
  it("finds the v2 folder", () => {
    expect(cgroupV2Dir(V2_CGROUP, V2_MOUNTINFO)).toBe("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope");
    expect(cgroupV2Dir(V1_CGROUP, V1_MOUNTINFO)).toBe("/sys/fs/cgroup/unified");
    expect(cgroupV2Dir("", "")).toBeUndefined();
  });
});

const strategy = (name: LimitStrategy["name"], result: Awaited<ReturnType<LimitStrategy["probe"]>>): LimitStrategy => ({
  name,
  appliesDefaults: name !== "prlimit",
  probe: async () => result,
  apply: async () => {
    throw new Error("not applied in this test");
  },
});

describe("chooseLimitStrategy (the chain)", () => {
  const chain = [
    strategy("systemd-run", { unavailable: "no systemd" }),
    strategy("cgroup-v2", { enforces: ["pids"] }),
    strategy("cgroup-v1", { enforces: ["memoryMb", "pids", "cpuPercent"] }),
    strategy("prlimit", { enforces: ["memoryMb"] }),
  ];
  it("needs no mechanism when no limit is asked for", async () => {
    expect(await chooseLimitStrategy({ wallSeconds: 5 }, { strategy: "auto", bestEffort: false }, chain)).toBeUndefined();
  });
  it("takes the strongest mechanism that enforces every requested limit", async () => {
    expect((await chooseLimitStrategy({ pids: 10 }, { strategy: "auto", bestEffort: false }, chain))?.strategy.name).toBe("cgroup-v2");
    expect((await chooseLimitStrategy({ pids: 10, memoryMb: 100 }, { strategy: "auto", bestEffort: false }, chain))?.strategy.name).toBe("cgroup-v1");
  });
  it("refuses a limit it cannot enforce, naming what it found", async () => {
    const refused = chooseLimitStrategy({ pids: 10 }, { strategy: "prlimit", bestEffort: false }, chain);
    await expect(refused).rejects.toMatchObject({ code: "E_SANDBOX_LIMITS" });
    await expect(refused).rejects.toThrow(/prlimit enforces memoryMb/);
  });
  it("with best effort, runs with what it can enforce and says what it cannot", async () => {
    const chosen = await chooseLimitStrategy({ pids: 10, memoryMb: 64 }, { strategy: "prlimit", bestEffort: true }, chain);
    expect(chosen?.strategy.name).toBe("prlimit");
    expect(chosen?.notEnforced).toEqual(["pids"]);
    const nothing = await chooseLimitStrategy({ pids: 10 }, { strategy: "auto", bestEffort: true }, [strategy("prlimit", { unavailable: "x" })]);
    expect(nothing?.strategy.name).toBe("none");
    expect(nothing?.notEnforced).toEqual(["pids"]);
  });
  it("rejects nonsense values", async () => {
    await expect(chooseLimitStrategy({ memoryMb: -1 }, { strategy: "auto", bestEffort: true }, chain)).rejects.toMatchObject({ code: "E_SANDBOX_LIMITS" });
  });
});

describe("default limits (what the run does not set)", () => {
  const defaults = { memoryMb: 4096, pids: 1024 };
  const auto = { strategy: "auto" as const, bestEffort: false, defaults };
  const cgroupChain = [strategy("systemd-run", { unavailable: "no systemd" }), strategy("cgroup-v1", { enforces: ["memoryMb", "pids", "cpuPercent"] }), strategy("prlimit", { enforces: ["memoryMb"] })];
  const prlimitOnly = [strategy("cgroup-v1", { unavailable: "read-only" }), strategy("prlimit", { enforces: ["memoryMb"] })];

  it("a cgroup puts them in force, and the run's own values win", async () => {
    const plan = await chooseLimitStrategy({}, auto, cgroupChain);
    expect(plan).toMatchObject({ limits: defaults, notEnforced: [], defaults: ["memoryMb", "pids"] });
    expect(plan?.strategy.name).toBe("cgroup-v1");
    const own = await chooseLimitStrategy({ pids: 64 }, auto, cgroupChain);
    expect(own).toMatchObject({ limits: { pids: 64, memoryMb: 4096 }, defaults: ["memoryMb"] });
  });

  it("where only prlimit works they are reported, never enforced (an address-space cap breaks V8), and never refuse the run", async () => {
    const plan = await chooseLimitStrategy({}, auto, prlimitOnly);
    expect(plan).toMatchObject({ limits: {}, notEnforced: ["memoryMb", "pids"], defaults: ["memoryMb", "pids"] });
    expect(plan?.strategy.name).toBe("none");
  });

  it("a limit the run asks for still fails closed, defaults or not", async () => {
    await expect(chooseLimitStrategy({ pids: 10 }, auto, prlimitOnly)).rejects.toMatchObject({ code: "E_SANDBOX_LIMITS" });
    // Asked for explicitly, prlimit does enforce memoryMb; the pids default stays reported.
    const asked = await chooseLimitStrategy({ memoryMb: 512 }, auto, prlimitOnly);
    expect(asked).toMatchObject({ limits: { memoryMb: 512 }, notEnforced: ["pids"] });
    expect(asked?.strategy.name).toBe("prlimit");
  });

  it("prefers the mechanism that also enforces the defaults", async () => {
    const chain = [strategy("cgroup-v2", { enforces: ["pids"] }), strategy("cgroup-v1", { enforces: ["memoryMb", "pids"] })];
    expect((await chooseLimitStrategy({ pids: 10 }, auto, chain))?.strategy.name).toBe("cgroup-v1");
    expect((await chooseLimitStrategy({ pids: 10 }, { ...auto, defaults: {} }, chain))?.strategy.name).toBe("cgroup-v2");
  });

  it("switched off, there is nothing to limit", async () => {
    expect(await chooseLimitStrategy({}, { ...auto, defaults: {} }, cgroupChain)).toBeUndefined();
  });
});
