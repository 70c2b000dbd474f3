import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentEventsOf, commandAgent, run, type RunEvent } from "@corral/core";
import { gitEnv, gitIn, removeDir, requireTool, tempRepo } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { bwrap, createBwrapSandbox } from "../src/index.js";

const available = requireTool((await createBwrapSandbox().check()).available, "bwrap is not usable here (apt-get install bubblewrap; user namespaces on)");

describe.runIf(available)("run() with the bwrap sandbox on a worktree", () => {
  let repo: string;
  beforeAll(async () => {
    repo = await tempRepo();
  });
  afterAll(() => removeDir(repo));

  it("the command agent commits inside the sandbox; the commit is on the run's branch, hooks stay untouched", async () => {
    const script = [
      "set -e",
      'echo "made in the sandbox" > agent.txt',
      "git add agent.txt",
      "git commit -q -m 'agent: add agent.txt'",
      // An escape attempt along the way: planting a hook in the shared git folder must fail.
      'if echo "#!/bin/sh" > "$(git rev-parse --git-common-dir)/hooks/post-commit" 2>/dev/null; then echo HOOK-PLANTED; fi',
      'echo "HOME is $HOME"',
      "echo '<promise>COMPLETE</promise>'",
    ].join("\n");
    const events: RunEvent[] = [];
    const result = await run({
      agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
      sandbox: bwrap(),
      isolation: worktree(),
      cwd: repo,
      name: "bwrap-e2e",
      prompt: "commit something",
      env: { ...gitEnv, PATH: "/usr/local/bin:/usr/bin:/bin" },
      handleProcessSignals: false,
      onEvent: (event) => events.push(event),
    });

    expect(result.status).toBe("succeeded");
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.commits.map((c) => c.subject)).toEqual(["agent: add agent.txt"]);
    expect(result.branch).toBeTruthy();
    expect(await gitIn(repo, "log", "-1", "--format=%s", result.branch!)).toBe("agent: add agent.txt");
    expect(await gitIn(repo, "show", `${result.branch!}:agent.txt`)).toBe("made in the sandbox");
    const text = events.flatMap((e) => agentEventsOf(e).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(text).not.toContain("HOOK-PLANTED");
    expect(existsSync(join(repo, ".git/hooks/post-commit"))).toBe(false);
    // The agent's HOME was the run's own, not the host's.
    expect(text.find((line) => line.startsWith("HOME is "))).toMatch(new RegExp(`^HOME is ${tmpdir()}/corral-home-`));
    expect(events.find((e) => e.type === "sandbox.ready")).toMatchObject({ sandbox: "bwrap" });
    // The main checkout did not move.
    expect(await gitIn(repo, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(await readFile(join(repo, "README.md"), "utf8")).toBe("# test repo\n");
  });

  it("the wall-clock limit ends a run with its own error (E_WALL_CLOCK), not as an agent crash", async () => {
    const started = Date.now();
    const error = await run({
      cwd: repo,
      prompt: "x",
      handleProcessSignals: false,
      sandbox: bwrap(),
      isolation: worktree(),
      limits: { wallSeconds: 1 },
      agent: commandAgent.configure({ argv: ["sh", "-c", "echo start; sleep 30"] }),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_WALL_CLOCK", message: expect.stringContaining("limits.wallSeconds = 1"), hint: expect.stringContaining("wallSeconds") });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("in-place: the agent can commit in the checkout, but cannot repoint or arm the repository's git", async () => {
    const local = await tempRepo();
    try {
      const script = [
        "echo work > work.txt && git add work.txt && git -c user.name=A -c user.email=a@e.x commit -qm 'in place'",
        "echo '[core]' > .git/evil-config; printf 'evil\\n' > .git/commondir",
        "echo 'touch /tmp/pwned' > .git/hooks/pre-commit 2>/dev/null; echo '[core] fsmonitor=x' >> .git/config 2>/dev/null; mkdir -p .git/modules/x 2>/dev/null",
        "echo done",
      ].join("; ");
      const result = await run({ cwd: local, prompt: "x", handleProcessSignals: false, sandbox: bwrap(), agent: commandAgent.configure({ argv: ["sh", "-c", script] }) });
      expect(result.commits.map((c) => c.subject)).toEqual(["in place"]);
      // The agent wrote its own git dir, mounted over .git: nothing it wrote there reached the user's.
      expect(existsSync(join(local, ".git", "commondir"))).toBe(false);
      expect(existsSync(join(local, ".git", "evil-config"))).toBe(false);
      expect(result.workspace.release.problems).toBeUndefined();
      expect(existsSync(join(local, ".git", "hooks", "pre-commit"))).toBe(false);
      expect(await readFile(join(local, ".git", "config"), "utf8")).not.toContain("fsmonitor");
      expect(existsSync(join(local, ".git", "modules", "x"))).toBe(false);
      expect(await gitIn(local, "log", "-1", "--format=%s")).toBe("in place");
    } finally {
      await removeDir(local);
    }
  });
});

describe.runIf(available)("run() with the bwrap sandbox and a network allowlist", () => {
  it("the agent reaches an allowed host through the egress proxy and nothing else; every connection is an event", async () => {
    const upstream = createServer((request, response) => response.end(`hello from ${request.headers.host}\n`));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as { port: number }).port;
    const dir = await tempRepo();
    try {
      const events: RunEvent[] = [];
      const script = `curl -sS --max-time 10 http://allowed.test:${port}/ ; curl -sS --max-time 10 -o /dev/null -w 'denied:%{http_code}\\n' --proxy "$HTTP_PROXY" http://elsewhere.test:${port}/ ; curl -sS --noproxy '*' --max-time 5 http://127.0.0.1:${port}/ || echo direct-refused`;
      const result = await run({
        agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
        sandbox: bwrap(),
        isolation: worktree(),
        cwd: dir,
        prompt: "reach out",
        network: { allow: [`allowed.test:${port}`], hosts: { "allowed.test": "127.0.0.1", "elsewhere.test": "127.0.0.1" } },
        env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
        handleProcessSignals: false,
        onEvent: (event) => events.push(event),
      });
      expect(result.status).toBe("incomplete"); // it ran its one iteration; it never said the completion signal
      const text = events.flatMap((e) => agentEventsOf(e).flatMap((a) => (a.type === "text" ? [a.text] : [])));
      expect(text).toEqual([`hello from allowed.test:${port}`, "denied:403", "direct-refused"]);
      expect(events.filter((e) => e.type === "network.allowed")).toEqual([expect.objectContaining({ host: "allowed.test", port, rule: `allowed.test:${port}` })]);
      expect(events.filter((e) => e.type === "network.denied")).toEqual([expect.objectContaining({ host: "elsewhere.test", port, allowWith: `elsewhere.test:${port}` })]);
    } finally {
      await new Promise((resolve) => upstream.close(resolve));
      await removeDir(dir);
    }
  });
});
