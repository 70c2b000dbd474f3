import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxSpec } from "@corral/core";
import { containerOptions } from "@corral/container";
import { resolveHostPath, sandboxArgs } from "./args.js";
import { bwrapOptions, DEFAULT_LIMITS, defaultLimits } from "./options.js";

const options = (input: unknown = {}) => bwrapOptions.parse(input);

/** The value following each occurrence of `flag` (e.g. all `--bind` sources). */
const pairs = (args: string[], flag: string) => args.flatMap((arg, i) => (arg === flag ? [[args[i + 1], args[i + 2]]] : []));

describe("sandboxArgs", () => {
  let root: string;
  let spec: SandboxSpec;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "corral-args-"));
    await mkdir(join(root, "ws/.git/hooks"), { recursive: true });
    await writeFile(join(root, "ws/.git/config"), "[core]\n");
    await mkdir(join(root, "home"));
    await mkdir(join(root, "data"));
    await mkdir(join(root, "common/objects"), { recursive: true });
    await mkdir(join(root, "run-git"));
    spec = {
      runId: "r",
      workspace: { path: join(root, "ws"), cwd: join(root, "ws") },
      gitMounts: [
        { host: join(root, "common/objects"), sandbox: join(root, "common/objects"), readonly: true },
        { host: join(root, "run-git"), sandbox: join(root, "common/worktrees/ws"), readonly: false },
      ],
      home: join(root, "home"),
      mounts: [{ host: join(root, "data") }, { host: join(root, "data"), sandbox: "/data", readonly: false }],
      env: { API_KEY: "secret" },
      network: "host",
      limits: {},
    };
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("applies the hardening defaults and no env on the command line", () => {
    const args = sandboxArgs(spec, options(), "/tmp/x");
    for (const flag of ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session"]) expect(args).toContain(flag);
    expect(args.join(" ")).toContain("--cap-drop ALL");
    expect(args).not.toContain("--unshare-net");
    expect(args.join(" ")).not.toContain("secret");
    expect(args).not.toContain("--setenv");
  });

  it("each default can be switched off", () => {
    const args = sandboxArgs(spec, options({ newSession: false, dieWithParent: false, dropCapabilities: false, seccomp: false, namespaces: { user: false, pid: false, ipc: false, uts: false, cgroup: false } }), "/tmp/x");
    expect(args.filter((a) => a.startsWith("--unshare") || ["--new-session", "--die-with-parent", "--cap-drop", "--seccomp"].includes(a))).toEqual([]);
  });

  it("loads the seccomp filter from fd 3 by default", () => {
    expect(sandboxArgs(spec, options(), "/tmp/x").join(" ")).toContain("--seccomp 3");
  });

  it("makes the kernel's settings read-only right after the fresh /proc, under either policy", () => {
    for (const readPolicy of ["minimal", "host-readonly"]) {
      const args = sandboxArgs(spec, options({ readPolicy }), "/tmp/x");
      const proc = args.indexOf("--proc");
      expect(proc).toBeGreaterThan(-1);
      expect(pairs(args, "--ro-bind")).toContainEqual(["/proc/sys", "/proc/sys"]);
      expect(args.indexOf("/proc/sys")).toBeGreaterThan(proc);
    }
  });

  it("minimal shows part of /etc, never all of it, and ends with a read-only root", () => {
    const args = sandboxArgs(spec, options(), "/tmp/x");
    expect(pairs(args, "--ro-bind")).not.toContainEqual(["/etc", "/etc"]);
    expect(pairs(args, "--ro-bind")).toContainEqual(["/etc/passwd", "/etc/passwd"]);
    expect(args.slice(-2)).toEqual(["--remount-ro", "/"]);
    expect(sandboxArgs(spec, options({ readPolicy: "host-readonly" }), "/tmp/x").slice(-2)).not.toEqual(["--remount-ro", "/"]);
  });

  it("network none unshares the network", () => {
    expect(sandboxArgs({ ...spec, network: "none" }, options(), "/tmp/x")).toContain("--unshare-net");

  });

  it("minimal shows system folders read-only and never the whole host", () => {
    const args = sandboxArgs(spec, options(), "/tmp/x");
    expect(pairs(args, "--ro-bind")).toContainEqual(["/usr", "/usr"]);
    expect(pairs(args, "--ro-bind")).not.toContainEqual(["/", "/"]);
    expect(pairs(args, "--ro-bind").map(([src]) => src)).not.toContain(homedir());
  });

  it("host-readonly binds / read-only and hides HOMEs, /run and secrets", () => {
    const args = sandboxArgs(spec, options({ readPolicy: "host-readonly" }), "/tmp/x");
    expect(pairs(args, "--ro-bind")).toContainEqual(["/", "/"]);
    expect(pairs(args, "--tmpfs").map(([p]) => p)).toEqual(expect.arrayContaining(["/root", "/run"]));
    expect(pairs(args, "--ro-bind")).toContainEqual(["/dev/null", "/etc/shadow"]);
  });

  it("binds the workspace, HOME and mounts, then the git mounts exactly as given, parents first", () => {
    const args = sandboxArgs(spec, options(), "/tmp/x");
    const binds = pairs(args, "--bind");
    expect(binds).toEqual(expect.arrayContaining([["/tmp/x", "/tmp"], [spec.workspace.path, spec.workspace.path], [spec.home, spec.home], [join(root, "data"), "/data"]]));
    expect(pairs(args, "--ro-bind")).toContainEqual([join(root, "data"), join(root, "data")]);
    // The run's git dir at another path, read-write; the user's objects read-only; both after every other bind.
    expect(binds).toContainEqual([join(root, "run-git"), join(root, "common/worktrees/ws")]);
    expect(pairs(args, "--ro-bind")).toContainEqual([join(root, "common/objects"), join(root, "common/objects")]);
    const firstGit = args.indexOf(join(root, "common/objects"));
    expect(firstGit).toBeGreaterThan(args.indexOf(join(root, "data")));
    expect(args.indexOf(join(root, "run-git"))).toBeGreaterThan(firstGit);
    // With git mounts from the isolation, the workspace's own .git is theirs to shape.
    expect(args).not.toContain(join(root, "ws/.git/config"));
  });

  it("without git mounts, a checkout's own .git/config and hooks are read-only, after every read-write bind", () => {
    const args = sandboxArgs({ ...spec, gitMounts: [] }, options(), "/tmp/x");
    const lastBind = args.lastIndexOf("--bind");
    expect(args.indexOf(join(root, "ws/.git/config"))).toBeGreaterThan(lastBind);
    expect(args.indexOf(join(root, "ws/.git/hooks"))).toBeGreaterThan(lastBind);
  });

  it("refuses a git mount whose host path does not exist", () => {
    expect(() => sandboxArgs({ ...spec, gitMounts: [{ host: join(root, "nope"), sandbox: join(root, "nope"), readonly: true }] }, options(), "/tmp/x")).toThrow(expect.objectContaining({ code: "E_SANDBOX_MOUNT" }));
  });

  it("hides a symlinked deny path through its target", async () => {
    await mkdir(join(root, "real-secret"));
    await symlink(join(root, "real-secret"), join(root, "secret-link"));
    const args = sandboxArgs(spec, options({ denyRead: [join(root, "secret-link")] }), "/tmp/x");
    expect(pairs(args, "--tmpfs")).toContainEqual([join(root, "real-secret"), "--remount-ro"]);
  });

  it("refuses a missing mount", () => {
    expect(() => sandboxArgs({ ...spec, mounts: [{ host: join(root, "nope") }] }, options(), "/tmp/x")).toThrow(expect.objectContaining({ code: "E_MOUNT_MISSING" }));
  });
});

describe("resolveHostPath", () => {
  it("resolves ~ and relative paths on the host", () => {
    expect(resolveHostPath("~")).toBe(homedir());
    expect(resolveHostPath("~/x/y")).toBe(join(homedir(), "x/y"));
    expect(resolveHostPath("a/b", "/base")).toBe("/base/a/b");
    expect(resolveHostPath("/abs/../p")).toBe("/p");
  });
});

describe("options", () => {
  it("default limits are the container sandboxes' defaults, and each can be overridden or switched off", () => {
    const containers = containerOptions.parse({});
    expect(DEFAULT_LIMITS).toEqual({ memoryMb: containers.memoryMb, pids: containers.pids });
    expect(defaultLimits(options())).toEqual(DEFAULT_LIMITS);
    expect(defaultLimits(options({ memoryMb: 2048, pids: false }))).toEqual({ memoryMb: 2048 });
    expect(() => bwrapOptions.parse({ pids: 0 })).toThrow();
  });

  it("rejects unknown fields and bad values", () => {
    expect(() => bwrapOptions.parse({ readPolicy: "everything" })).toThrow();
    expect(() => bwrapOptions.parse({ nope: 1 })).toThrow();
    expect(() => bwrapOptions.parse({ mounts: [{ host: "/x", sandbox: "relative" }] })).toThrow();
  });
});
