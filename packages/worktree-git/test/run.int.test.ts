import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { commandAgent, run, type RunEvent } from "@corral/core";
import { gitIn, removeDir, tempRepo } from "@corral/test-support";
import { worktree } from "../src/index.js";
import { hasGit, worktreePaths } from "./helpers.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});

describe.runIf(hasGit)("a full corral run on the worktree isolation", () => {
  it("the command agent commits in its worktree; the commit is reported and on the branch", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    const events: RunEvent[] = [];
    const script = [
      'test "$(git rev-parse --abbrev-ref HEAD)" = corral/add-hello || exit 3',
      "echo hello > hello.txt",
      "git add hello.txt",
      "git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'add hello'",
      "echo '<promise>COMPLETE</promise>'",
    ].join(" && ");
    const result = await run({
      agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
      isolation: worktree(),
      cwd: dir,
      name: "add-hello",
      prompt: "say hello",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      handleProcessSignals: false,
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe("succeeded");
    expect(result.branch).toBe("corral/add-hello");
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.commits).toHaveLength(1);
    expect(result.commits[0]).toMatchObject({ subject: "add hello", author: "Agent <agent@example.com>", files: ["hello.txt"] });
    expect(await gitIn(dir, "rev-parse", "corral/add-hello")).toBe(result.commits[0]!.sha);
    expect(await gitIn(dir, "show", "corral/add-hello:hello.txt")).toBe("hello");
    // the worktree was released, the main checkout untouched
    expect(result.workspace.release.removed).toBe(true);
    expect(existsSync(result.workspace.path)).toBe(false);
    expect(await worktreePaths(dir)).toEqual([]);
    expect(existsSync(`${dir}/hello.txt`)).toBe(false);
    expect(await gitIn(dir, "status", "--porcelain")).toBe("");
    const ready = events.find((e) => e.type === "workspace.ready");
    expect(ready).toMatchObject({ path: `${dir}/.corral/worktrees/add-hello`, branch: "corral/add-hello" });
  });
});

describe.runIf(hasGit)("a host run whose own reset dropped its commits", () => {
  const commit = (name: string) => `echo ${name} > ${name}.txt && git add ${name}.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m "${name}"`;
  const hostRun = (dir: string, script: string) =>
    run({ agent: commandAgent.configure({ argv: ["sh", "-c", `${script} && echo '<promise>COMPLETE</promise>'`] }), isolation: worktree(), cwd: dir, name: "resetter", prompt: "work", handleProcessSignals: false });

  it("is not a success: the error names the branch's reflog entry and a ref keeps the commits; an amend is fine", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    const error = await hostRun(dir, `${commit("kept")} && ${commit("dropped")} && git reset -q --hard HEAD~1`).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(error).toMatchObject({ code: "E_COMMITS_DROPPED" });
    expect(error!.message).toMatch(/"dropped".*corral\/resetter@\{0\} in the run's reflog: "reset: moving to HEAD~1"/);
    const ref = /kept at (refs\/corral\/dropped\/\S+?)\./.exec(error!.message)![1]!;
    expect(await gitIn(dir, "show", `${ref}:dropped.txt`)).toBe("dropped");
    expect(await gitIn(dir, "log", "--format=%s", "-1", "corral/resetter")).toBe("kept");

    const twin = await tempRepo();
    cleanup.push(twin);
    const amended = await hostRun(twin, `${commit("first")} && git -c user.name=Agent -c user.email=agent@example.com commit -q --amend -m "first, amended"`);
    expect(amended.commits.map((c) => c.subject)).toEqual(["first, amended"]);
  });
});

describe.runIf(hasGit)("a host run whose commit git refused", () => {
  const agentCommit = (name: string) => `echo ${name} > ${name}.txt && git add ${name}.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m "${name}"`;
  const hostRun = (dir: string, script: string) =>
    run({ agent: commandAgent.configure({ argv: ["sh", "-c", `${script} && echo '<promise>COMPLETE</promise>'`] }), isolation: worktree(), cwd: dir, name: "refuser", prompt: "work", handleProcessSignals: false });

  it("is not a success: the refused commit is named and kept; the user's own commits meanwhile are not taken for the run's", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    // The branch's lock is held (as a `git gc` or `pack-refs` beside the run would): git writes the
    // commit object, then cannot move the branch, and the agent carries on.
    const lock = '"$(git rev-parse --path-format=absolute --git-common-dir)/refs/heads/corral/refuser.lock"';
    const error = await hostRun(dir, `${agentCommit("kept")} && touch ${lock} && { ${agentCommit("refused")} || true; } && rm -f ${lock} && git reset -q --hard HEAD`).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error).toMatchObject({ code: "E_COMMITS_DROPPED" });
    expect(error!.message).toMatch(/"refused".*never put them on a branch/);
    const ref = /kept at (refs\/corral\/dropped\/\S+?)\./.exec(error!.message)![1]!;
    expect(await gitIn(dir, "show", `${ref}:refused.txt`)).toBe("refused");
    expect(await gitIn(dir, "log", "--format=%s", "-1", "corral/refuser")).toBe("kept");

    // Twin: the user commits in their checkout while the run works, and another run's work on its own
    // line is dropped meanwhile (a commit on top of another branch, on no ref): the run's one commit is all it made.
    const twin = await tempRepo();
    cleanup.push(twin);
    await gitIn(twin, "branch", "corral/other");
    await gitIn(twin, "-c", "user.name=Other", "-c", "user.email=o@example.com", "commit", "-q", "--allow-empty", "-m", "other run's");
    await gitIn(twin, "branch", "-f", "corral/other", "HEAD");
    await gitIn(twin, "reset", "-q", "--hard", "HEAD~1");
    await gitIn(twin, "reflog", "expire", "--expire=now", "--all");
    const userCommit = `git -C '${twin}' -c user.name=User -c user.email=user@example.com commit -q --allow-empty -m "user's own"`;
    const otherDropped = `git -C '${twin}' -c user.name=Other -c user.email=o@example.com commit-tree -p corral/other -m "other run's, dropped" "corral/other^{tree}" >/dev/null`;
    const clean = await hostRun(twin, `${agentCommit("mine")} && ${userCommit} && ${otherDropped} && git -C '${twin}' -c user.name=User -c user.email=user@example.com commit -q --amend --allow-empty -m "user's own, amended"`);
    expect(clean.status).toBe("succeeded");
    expect(clean.commits.map((c) => c.subject)).toEqual(["mine"]);
  });
});
