import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentNotFoundError, agentEventsOf, commandAgent, isEvent, run, type RunEvent } from "@corral/core";
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
    const text = events.flatMap((e) => agentEventsOf(e)).map((e) => JSON.stringify(e));
    expect(text.join("\n")).toContain("my-agent did: hello");
    const note = events.find((e) => isEvent(e, "log") && e.message.includes("shown read-only inside"));
    expect(note && isEvent(note, "log") ? note.message : "").toContain(join(repo, "node_modules"));
    expect(note && isEvent(note, "log") ? note.message : "").toContain(join(home, ".local", "bin", "node"));
  });

  it("a program linked from ~/.local/bin into its versions folder runs", async () => {
    const events: RunEvent[] = [];
    const result = await runWith(["tool", "{prompt}"], events);
    expect(result.status).toBe("succeeded");
    expect(events.flatMap((e) => agentEventsOf(e)).map((e) => JSON.stringify(e)).join("\n")).toContain("tool did: hello");
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

// What a program in the project's node_modules leads to is hostile data: an in-place run's agent can
// write the checkout, node_modules included, and plant a shim or a link for the next run to follow.
describe.runIf(available)("bwrap: a planted agent program never gets a host file shown inside", () => {
  const SECRET = "host-secret-the-sandbox-must-not-see";
  let outside: string;
  beforeAll(async () => {
    outside = await tempDir("corral-program-outside-");
    await writeFile(join(outside, "secret.txt"), `${SECRET}\n`);
  });
  afterAll(async () => removeDir(outside));

  const runIn = (repo: string, argv: string[]) => {
    const events: RunEvent[] = [];
    const done = run({ agent: commandAgent.configure({ argv }), sandbox: bwrap(), isolation: worktree(), cwd: repo, prompt: "p", env: { ...gitEnv, PATH: "/usr/bin:/bin" }, handleProcessSignals: false, onEvent: (e) => events.push(e) }).catch((e: unknown) => e);
    return done.then((result) => ({ result, seen: events.map((e) => JSON.stringify(e)).join("\n") }));
  };

  it("a shim whose \"$basedir/…\" path leads out of node_modules: that file is not mounted; twin: the shim itself still runs", async () => {
    const repo = await tempRepo();
    try {
      const secret = join(outside, "secret.txt");
      // The shim names the secret the way npm's shims name their package ("$basedir/<relative path>").
      const up = join("..", "..", ...repo.split("/").filter(Boolean).map(() => ".."));
      await writeExecutable(join(repo, "node_modules", ".bin", "planted"), `#!/bin/sh\nbasedir=$(dirname "$0")\n: "$basedir/${join(up, secret)}"\ncat ${secret} 2>&1 || true\necho "planted ran <promise>COMPLETE</promise>"\n`);
      const { seen } = await runIn(repo, ["planted"]);
      expect(seen).toContain("planted ran"); // the program itself is shown: it lies in node_modules
      expect(seen).not.toContain(SECRET);
    } finally {
      await removeDir(repo);
    }
  });

  it("twin: a pnpm workspace package's shim into the root's node_modules/.pnpm runs (the root's node_modules is the project's too)", async () => {
    const repo = await tempRepo();
    try {
      const real = join(repo, "node_modules", ".pnpm", "ws-agent@1.0.0", "node_modules", "ws-agent");
      await writeExecutable(join(real, "bin", "agent.sh"), '#!/bin/sh\necho "ws-agent ran <promise>COMPLETE</promise>"\n');
      await mkdir(join(repo, "pkg", "node_modules"), { recursive: true });
      await symlink(join("..", "..", "node_modules", ".pnpm", "ws-agent@1.0.0", "node_modules", "ws-agent"), join(repo, "pkg", "node_modules", "ws-agent"));
      await writeExecutable(join(repo, "pkg", "node_modules", ".bin", "ws-agent"), '#!/bin/sh\nbasedir=$(dirname "$0")\nexec "$basedir/../ws-agent/bin/agent.sh" "$@"\n');
      await writeFile(join(repo, "pkg", "README.md"), "pkg\n");
      await gitIn(repo, "add", "pkg/README.md");
      await gitIn(repo, "commit", "-qm", "pkg");
      const { seen } = await runIn(join(repo, "pkg"), ["ws-agent"]);
      expect(seen).toContain("ws-agent ran");
    } finally {
      await removeDir(repo);
    }
  });

  it("a node_modules that is a link out of the project: nothing behind it is mounted", async () => {
    const repo = await tempRepo();
    try {
      await writeExecutable(join(outside, "nm", ".bin", "linked"), `#!/bin/sh\ncat ${join(outside, "secret.txt")} 2>&1\necho "linked ran <promise>COMPLETE</promise>"\n`);
      await symlink(join(outside, "nm"), join(repo, "node_modules"));
      const { seen } = await runIn(repo, ["linked"]);
      expect(seen).not.toContain(SECRET);
      expect(seen).not.toContain("linked ran"); // not shown inside, so it cannot start there
    } finally {
      await removeDir(repo);
    }
  });
});
