import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxSpec } from "../sandbox.js";
import { buildLineError, buildMessageError, defaultImageTag } from "./build.js";
import { execStatus, killExecArgv, wrapExec } from "./exec.js";
import { judgeOrphan, LABELS } from "./labels.js";
import { containerOptions } from "./options.js";
import { containerName, planContainer } from "./plan.js";

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
      command: ["sleep", "infinity"],
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
    expect(plan).toMatchObject({ memoryBytes: 128 * 1024 * 1024, memorySwapBytes: 128 * 1024 * 1024, pidsLimit: 32, nanoCpus: 1_500_000_000, command: ["sleep", "91"] });
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

  it("user: image leaves the image's USER, an explicit uid:gid is used as is", () => {
    expect(planContainer(spec, containerOptions.parse({ user: "image" }), { version: "1" }).user).toBeUndefined();
    expect(planContainer(spec, containerOptions.parse({ user: "5:6" }), { version: "1" }).user).toBe("5:6");
    expect(() => containerOptions.parse({ user: "root; rm -rf /" })).toThrow();
  });

  it("refuses a mount whose host path does not exist, rather than letting the engine create it", () => {
    expect(() => planContainer({ ...spec, mounts: [{ host: join(root, "missing") }] }, defaults(), { version: "1" })).toThrow(expect.objectContaining({ code: "E_SANDBOX_MOUNT" }));
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
  it("wraps argv without a shell string built from it", () => {
    const argv = ["echo", "$(id)", "a b"];
    const wrapped = wrapExec(argv, "abc");
    expect(wrapped.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(wrapped.slice(-3)).toEqual(argv);
    expect(wrapped[2]).not.toContain("$(id)");
    expect(killExecArgv("abc", "KILL").join(" ")).toContain("kill -KILL");
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
  it("derives the default tag from the repository folder", () => {
    expect(defaultImageTag("/home/me/My Project")).toBe("corral-my-project:latest");
    expect(defaultImageTag("/")).toBe("corral-repo:latest");
  });
});
