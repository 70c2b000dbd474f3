import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentNotFoundError, commandAgent, isEvent, run, type RunEvent } from "@corral/core";
import { gitEnv, gitIn, removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { bwrap, createBwrapSandbox } from "../src/index.js";

const available = requireTool((await createBwrapSandbox().check()).available, "bwrap is not usable here (apt-get install bubblewrap; user namespaces on)");

async function writeExecutable(path: string, text: string): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, text);
  await chmod(path, 0o755);
}

// The agent's program is where a new user has it: in the project's node_modules/.bin (npm's link
// into the package) or in ~/.local/bin (a native installer's link), never in the system folders
// bwrap shows; the `node` its #! line names is in that ~/.local/bin too.
describe.runIf(available)("bwrap: the agent's program is found on the host and shown inside read-only", () => {
  let repo: string;
  let home: string;
  let path: string;
  beforeAll(async () => {
    repo = await tempRepo();
    home = await tempDir();
    const pkg = join(repo, "node_modules", "my-agent");
    await mkdir(join(pkg, "lib"), { recursive: true });
    await writeFile(join(pkg, "package.json"), JSON.stringify({ name: "my-agent", bin: { "my-agent": "bin/agent.js" } }));
    // A relative require: it resolves only when the script runs from its real place in the package.
    await writeFile(join(pkg, "lib", "say.js"), "module.exports = (prompt) => `my-agent did: ${prompt} <promise>COMPLETE</promise>`;\n");
    await writeExecutable(join(pkg, "bin", "agent.js"), "#!/usr/bin/env node\nconsole.log(require('../lib/say.js')(process.argv[2]));\n");
    await mkdir(join(repo, "node_modules", ".bin"));
    await symlink("../my-agent/bin/agent.js", join(repo, "node_modules", ".bin", "my-agent"));
    // ~/.local/bin: a `node` of its own (so the run must show it), and a tool linked to its versions folder.
    await writeExecutable(join(home, ".local", "bin", "node"), `#!/bin/sh\nexec ${process.execPath} "$@"\n`);
    await writeExecutable(join(home, ".local", "share", "tool", "versions", "1.0", "tool"), "#!/bin/sh\necho \"tool did: $1 <promise>COMPLETE</promise>\"\n");
    await symlink("../share/tool/versions/1.0/tool", join(home, ".local", "bin", "tool"));
    path = `${join(home, ".local", "bin")}:/usr/bin:/bin`;
  });
  afterAll(async () => {
    await removeDir(repo);
    await removeDir(home);
  });

  const runWith = (argv: string[], events: RunEvent[]) =>
    run({
      agent: commandAgent.configure({ argv }),
      sandbox: bwrap(),
      isolation: worktree(),
      cwd: repo,
      prompt: "hello",
      env: { ...gitEnv, PATH: path },
      handleProcessSignals: false,
      onEvent: (event) => events.push(event),
    });

  it("a node script in the project's node_modules/.bin, with node from ~/.local/bin, runs", async () => {
    const events: RunEvent[] = [];
    const result = await runWith(["my-agent", "{prompt}"], events);
    expect(result.status).toBe("succeeded");
    const text = events.filter((e) => isEvent(e, "agent")).map((e) => JSON.stringify(e));
    expect(text.join("\n")).toContain("my-agent did: hello");
    const note = events.find((e) => isEvent(e, "log") && e.message.includes("shown read-only inside"));
    expect(note && isEvent(note, "log") ? note.message : "").toContain(join(repo, "node_modules"));
    expect(note && isEvent(note, "log") ? note.message : "").toContain(join(home, ".local", "bin", "node"));
  });

  it("a program linked from ~/.local/bin into its versions folder runs", async () => {
    const events: RunEvent[] = [];
    const result = await runWith(["tool", "{prompt}"], events);
    expect(result.status).toBe("succeeded");
    expect(events.filter((e) => isEvent(e, "agent")).map((e) => JSON.stringify(e)).join("\n")).toContain("tool did: hello");
  });

  it("a program that exists nowhere fails before the run with E_AGENT_NOT_FOUND naming the paths; no worktree or branch is left", async () => {
    const events: RunEvent[] = [];
    const branches = await gitIn(repo, "branch", "--list");
    const error = await runWith(["corral-no-such-agent"], events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentNotFoundError);
    const e = error as AgentNotFoundError;
    expect(e.code).toBe("E_AGENT_NOT_FOUND");
    expect(e.message).toContain(join(home, ".local", "bin", "corral-no-such-agent"));
    expect(e.message).toContain(join(repo, "node_modules", ".bin", "corral-no-such-agent"));
    expect(e.hint).toContain("`argv`");
    expect(e.hint).toContain("mounts");
    expect(`${e.message} ${e.hint}`).not.toMatch(/credential/i);
    expect(events.some((event) => isEvent(event, "workspace.ready") || isEvent(event, "sandbox.ready"))).toBe(false);
    expect(await gitIn(repo, "branch", "--list")).toBe(branches);
    expect((await gitIn(repo, "worktree", "list")).split("\n")).toHaveLength(1);
  });

  it("a script whose #! runtime exists nowhere fails the same way, naming the runtime", async () => {
    await writeExecutable(join(home, ".local", "bin", "needs-runtime"), "#!/usr/bin/env corral-no-such-runtime\n");
    const error = (await runWith(["needs-runtime"], []).catch((e: unknown) => e)) as AgentNotFoundError;
    expect(error).toBeInstanceOf(AgentNotFoundError);
    expect(error.message).toContain("`needs-runtime` needs `corral-no-such-runtime`");
    expect(error.message).toContain(join(home, ".local", "bin", "corral-no-such-runtime"));
  });
});
