import { mkdtemp, mkdir, realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SandboxSpec } from "@corral/core";
import { describe, expect, it } from "vitest";
import { assertSupported, commandArgv, firejailArgs } from "./args.js";
import { firejailOptions } from "./options.js";

const options = firejailOptions.parse({});

async function specIn(overrides: Partial<SandboxSpec> = {}): Promise<SandboxSpec> {
  const root = await realpath(await mkdtemp(join(tmpdir(), "corral-firejail-args-")));
  await mkdir(join(root, "ws", ".git", "hooks"), { recursive: true });
  await mkdir(join(root, "home"));
  return {
    runId: "r1",
    workspace: { path: join(root, "ws"), cwd: join(root, "ws") },
    gitMounts: [],
    home: join(root, "home"),
    mounts: [],
    env: { PATH: "/usr/bin:/bin" },
    network: "host",
    limits: {},
    ...overrides,
  };
}

describe("firejailArgs", () => {
  it("makes the host read-only, then the workspace and HOME writable, then the git hooks read-only again", async () => {
    const spec = await specIn();
    const args = firejailArgs(spec, options);
    const at = (arg: string) => args.indexOf(arg);
    expect(at("--read-only=/")).toBeGreaterThan(-1);
    expect(at(`--read-write=${spec.workspace.path}`)).toBeGreaterThan(at("--read-only=/"));
    expect(at(`--read-write=${spec.home}`)).toBeGreaterThan(at("--read-only=/"));
    expect(at(`--read-only=${join(spec.workspace.path, ".git", "hooks")}`)).toBeGreaterThan(at(`--read-write=${spec.workspace.path}`));
    expect(args).not.toContain("--net=none");
  });

  it("maps network none and memoryMb, and never puts env values in argv", async () => {
    const spec = await specIn({ network: "none", limits: { memoryMb: 64 }, env: { PATH: "/bin", API_KEY: "sk-secret-value" } });
    const args = firejailArgs(spec, options);
    expect(args).toContain("--net=none");
    expect(args).toContain(`--rlimit-as=${64 * 1024 * 1024}`);
    expect([...args, ...commandArgv(["true"], spec.env)].join(" ")).not.toContain("sk-secret-value");
  });
});

describe("assertSupported", () => {
  it("refuses what firejail cannot enforce instead of doing less", async () => {
    await expect(specIn({ limits: { pids: 10 } }).then(assertSupported)).rejects.toMatchObject({ code: "E_SANDBOX_UNSUPPORTED" });
    await expect(specIn({ limits: { cpuPercent: 50 } }).then(assertSupported)).rejects.toMatchObject({ code: "E_SANDBOX_UNSUPPORTED" });
    await expect(specIn({ network: "bridge" }).then(assertSupported)).rejects.toMatchObject({ code: "E_SANDBOX_UNSUPPORTED" });
    await expect(specIn({ mounts: [{ host: "/usr", sandbox: "/elsewhere" }] }).then(assertSupported)).rejects.toMatchObject({ code: "E_SANDBOX_UNSUPPORTED" });
    await expect(specIn({ mounts: [{ host: "/no/such/path" }] }).then(assertSupported)).rejects.toMatchObject({ code: "E_MOUNT_MISSING" });
    await expect(specIn({ limits: { memoryMb: 512, wallSeconds: 60 }, network: "none" }).then(assertSupported)).resolves.toBeUndefined();
  });
});

describe("commandArgv", () => {
  it("unsets what firejail injects, keeps what the spec asked for", () => {
    expect(commandArgv(["ls", "-l"], { SHELL: "/bin/zsh" })).toEqual([
      "env",
      ...["FIREJAIL_QUIET", "PROMPT_COMMAND", "QT_X11_NO_MITSHM", "QML_DISABLE_DISK_CACHE", "KDE_FORK_SLAVES"].flatMap((n) => ["-u", n]),
      "--",
      "SHELL=/bin/zsh",
      "ls",
      "-l",
    ]);
  });
});
