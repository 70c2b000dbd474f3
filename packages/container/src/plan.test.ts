import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxSpec } from "@corral/core";
import { buildLineError, buildMessageError, DEFAULT_IMAGE } from "./build.js";
import { execStatus } from "./exec.js";
import { KEEPER_READY, keeperCommand, keeperUser } from "./keeper.js";
import { judgeOrphan, LABELS } from "./labels.js";
import { containerOptions } from "./options.js";
import { containerName, planContainer } from "./plan.js";
import { withoutUserNamespaces } from "./seccomp.js";

let root: string;
let spec: SandboxSpec;

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "corral-plan-")));
  for (const dir of ["ws/sub", "home", "repo/.git/hooks", "repo/.git/objects", "run-git", "data"]) await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, "repo/.git/config"), "[core]\n");
  spec = {
    runId: "run-1",
    name: "fix-bug",
    workspace: { path: join(root, "ws"), cwd: join(root, "ws/sub") },
    gitMounts: [
      { host: join(root, "run-git"), sandbox: join(root, "repo/.git/worktrees/ws"), readonly: false },
      { host: join(root, "repo/.git/objects"), sandbox: join(root, "repo/.git/objects"), readonly: true },
    ],
    home: join(root, "home"),
    mounts: [{ host: join(root, "data") }],
    env: { PATH: "/usr/bin:/bin", API_KEY: "secret" },
    network: "none",
    limits: {},
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const defaults = () => containerOptions.parse({});

describe("planContainer", () => {
  it("hardens by default: caps dropped, no-new-privileges, read-only root, tmpfs /tmp, limits with swap = memory", () => {
    const plan = planContainer(spec, defaults(), { version: "1.2.3", hostUser: { uid: 1000, gid: 1001 } });
    expect(plan).toMatchObject({
      name: "corral-run-1",
      image: "corral-agent:latest",
      user: "1000:1001",
      keeperUser: "65534:65534",
      workdir: join(root, "ws/sub"),
      capDrop: ["ALL"],
      capAdd: [],
      noNewPrivileges: true,
      readOnlyRoot: true,
      init: true,
      network: "none",
      pidsLimit: 1024,
      memoryBytes: 4096 * 1024 * 1024,
      memorySwapBytes: 4096 * 1024 * 1024,
      command: keeperCommand(),
    });
    expect(Object.keys(plan.tmpfs)).toEqual(["/tmp"]);
    expect(plan.nanoCpus).toBeUndefined();
  });

  it("keeps the image's own PATH and LANG unless the run set them", () => {
    const inherited = planContainer({ ...spec, env: { PATH: "/host/bin", LANG: "C.UTF-8", API_KEY: "k" }, inheritedEnv: ["PATH", "LANG"] }, defaults(), { version: "1" });
    expect(inherited.env).toEqual({ API_KEY: "k" });
    const explicit = planContainer({ ...spec, env: { PATH: "/opt/tools/bin", LANG: "C.UTF-8" }, inheritedEnv: ["LANG"] }, defaults(), { version: "1" });
    expect(explicit.env).toEqual({ PATH: "/opt/tools/bin" });
  });

  it("lets the run's limits win over the plugin's defaults, and a wall-clock limit end PID 1", () => {
    const plan = planContainer({ ...spec, limits: { memoryMb: 128, pids: 32, cpuPercent: 150, wallSeconds: 90.5 } }, containerOptions.parse({ memoryMb: 999, pids: 999 }), { version: "1" });
    expect(plan).toMatchObject({ memoryBytes: 128 * 1024 * 1024, memorySwapBytes: 128 * 1024 * 1024, pidsLimit: 32, nanoCpus: 1_500_000_000, command: keeperCommand(90.5) });
    expect(plan.command.at(-1)).toBe("91");
  });

  it("labels the container with run, version, name and the orchestrator", () => {
    const plan = planContainer(spec, containerOptions.parse({ labels: { team: "a" } }), { version: "1.2.3", orchestrator: { pid: 4242, startTime: "777", host: "box" } });
    expect(plan.labels).toEqual({ team: "a", "corral.run": "run-1", "corral.name": "fix-bug", "corral.version": "1.2.3", "corral.pid": "4242", "corral.pid-start": "777", "corral.host": "box" });
  });

  it("mounts the workspace and HOME at their host paths and the git mounts as given, parents first", () => {
    const plan = planContainer(spec, defaults(), { version: "1" });
    expect(plan.mounts.map((m) => [m.source.slice(root.length), m.target.slice(root.length), m.readonly])).toEqual([
      ["/data", "/data", true],
      ["/home", "/home", false],
      ["/ws", "/ws", false],
      ["/repo/.git/objects", "/repo/.git/objects", true],
      ["/run-git", "/repo/.git/worktrees/ws", false],
    ]);
  });

  it("a git mount replaces another mount at its target, whatever that one asked", () => {
    const objects = join(root, "repo/.git/objects");
    const plan = planContainer({ ...spec, mounts: [{ host: join(root, "data"), sandbox: objects, readonly: false }] }, defaults(), { version: "1" });
    expect(plan.mounts.filter((m) => m.target === objects)).toEqual([{ source: objects, target: objects, readonly: true }]);
  });

  it("user: image takes the image's USER (empty is root), an explicit uid:gid is used as is; the keeper is never the agent", () => {
    expect(planContainer(spec, containerOptions.parse({ user: "image" }), { version: "1", imageUser: "agent" })).toMatchObject({ user: "agent", keeperUser: "65534:65534" });
    expect(planContainer(spec, containerOptions.parse({ user: "image" }), { version: "1", imageUser: "" })).toMatchObject({ user: "0:0", keeperUser: "65534:65534" });
    expect(planContainer(spec, containerOptions.parse({ user: "5:6" }), { version: "1" }).user).toBe("5:6");
    expect(planContainer(spec, containerOptions.parse({ user: "65534:65534" }), { version: "1" }).keeperUser).toBe("0:0");
    expect(() => containerOptions.parse({ user: "root; rm -rf /" })).toThrow();
  });

  it("refuses a mount whose host path does not exist, rather than letting the engine create it", () => {
    expect(() => planContainer({ ...spec, mounts: [{ host: join(root, "missing") }] }, defaults(), { version: "1" })).toThrow(expect.objectContaining({ code: "E_MOUNT_MISSING" }));
  });

  it("a read-only and a read-write wish for the same path: read-only wins", () => {
    const plan = planContainer({ ...spec, mounts: [{ host: join(root, "ws"), readonly: true }] }, defaults(), { version: "1" });
    expect(plan.mounts.find((m) => m.target === join(root, "ws"))?.readonly).toBe(true);
  });

  it("makes container names engines accept", () => {
    expect(containerName("2024-01-01T00:00 run/x")).toBe("corral-2024-01-01T00-00-run-x");
  });
});

describe("judgeOrphan", () => {
  it("a container of a live orchestrator is kept, of a dead one is an orphan", () => {
    expect(judgeOrphan({ [LABELS.run]: "r", [LABELS.pid]: String(process.pid), [LABELS.host]: "h" }, { host: "h" })).toMatchObject({ orphan: false });
    expect(judgeOrphan({ [LABELS.run]: "r", [LABELS.pid]: "999999999", [LABELS.host]: "h" }, { host: "h" })).toMatchObject({ orphan: true });
  });
  it("a reused pid (other start time) is an orphan; another host's container is never judged", () => {
    expect(judgeOrphan({ [LABELS.run]: "r", [LABELS.pid]: String(process.pid), [LABELS.pidStart]: "1", [LABELS.host]: "h" }, { host: "h" })).toMatchObject({ orphan: true });
    expect(judgeOrphan({ [LABELS.run]: "r", [LABELS.pid]: "999999999", [LABELS.host]: "other" }, { host: "h" })).toMatchObject({ orphan: false, reason: expect.stringContaining("another host") });
    expect(judgeOrphan({}, { host: "h" })).toMatchObject({ orphan: false });
  });
});

describe("exec helpers", () => {
  it("the keeper waits on its stdin, says when it runs, and ends itself at the wall-clock limit", () => {
    const [sh, flag, script, wall] = keeperCommand(2.2);
    expect([sh, flag, wall]).toEqual(["/bin/sh", "-c", "3"]);
    expect(script).toContain(KEEPER_READY);
    expect(script).toContain("read -r _");
    expect(keeperCommand().at(-1)).toBe("infinity");
    expect(keeperUser("1000:1000")).toBe("65534:65534");
    expect(keeperUser("nobody")).toBe("0:0");
  });
  it("a 128+n status after corral stopped the exec is a kill by signal n", () => {
    expect(execStatus(143, true)).toEqual({ exitCode: null, signal: "SIGTERM" });
    expect(execStatus(143, false)).toEqual({ exitCode: 143, signal: null });
    expect(execStatus(3, true)).toEqual({ exitCode: 3, signal: null });
  });
});

describe("build output scanning", () => {
  it("finds failures in text and JSON build output", () => {
    expect(buildLineError("Error: error building at STEP \"RUN exit 3\": exit status 3")).toContain("exit status 3");
    expect(buildLineError("The command '/bin/sh -c exit 3' returned a non-zero code: 3")).toBeDefined();
    expect(buildLineError("STEP 2/2: RUN echo error handling is fine")).toBeUndefined();
    expect(buildMessageError({ error: "failed to fetch", errorDetail: { message: "failed to fetch" } })).toBe("failed to fetch");
    expect(buildMessageError({})).toBeUndefined();
  });
  it("the default everywhere but init's per-project tag is one tag (init's: apps/cli/src/commands/init.test.ts)", () => {
    expect(containerOptions.parse({}).image).toBe(DEFAULT_IMAGE); // what a run looks for is what `corral image build` builds
  });
});

describe("withoutUserNamespaces", () => {
  const profile = {
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [
      { names: ["read", "clone", "clone3", "unshare", "write"], action: "SCMP_ACT_ALLOW", args: [] },
      { names: ["unshare"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
    ],
  };
  it("keeps every other rule and field, and lets unshare and clone through only without CLONE_NEWUSER; clone3 is ENOSYS", () => {
    const tight = withoutUserNamespaces(profile);
    expect(tight.defaultAction).toBe("SCMP_ACT_ERRNO");
    const rules = tight.syscalls!;
    expect(rules[0]).toMatchObject({ names: ["read", "write"], action: "SCMP_ACT_ALLOW" });
    expect(rules.filter((rule) => rule.names.includes("unshare") && rule.action === "SCMP_ACT_ALLOW").every((rule) => rule.args?.[0]?.op === "SCMP_CMP_MASKED_EQ" && rule.args[0].valueTwo === 0)).toBe(true);
    expect(rules.find((rule) => rule.names.includes("unshare") && rule.action === "SCMP_ACT_ERRNO")).toMatchObject({ errnoRet: 1, args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000 }] });
    expect(rules.filter((rule) => rule.names.includes("clone")).map((rule) => rule.args?.[0]?.index)).toEqual([0, 0, 1, 1]);
    expect(rules.find((rule) => rule.names.includes("clone3"))).toMatchObject({ action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    expect(profile.syscalls[0]!.names).toContain("unshare"); // the engine's own profile is left alone
  });
});
