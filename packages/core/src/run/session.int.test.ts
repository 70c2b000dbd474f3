import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { removeDir, tempRepo } from "@corral/test-support";
import type { Agent, AgentCommandInput } from "../agent.js";
import { inPlaceIsolation } from "../builtins/in-place.js";
import { agentEventsOf, type RunEvent } from "../events.js";
import { run } from "../run.js";
import { copySessionTree, plainSessionId } from "./session.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "corral-session-test-"));
  dirs.push(dir);
  return dir;
}

describe("plainSessionId", () => {
  it("passes a CLI's ids (uuids, codex thread ids) and refuses what could be an option or a path", () => {
    expect(plainSessionId("9e5996f4-ba06-4dc3-a625-8b1915722763")).toBe("9e5996f4-ba06-4dc3-a625-8b1915722763");
    expect(plainSessionId("thread_01:abc.2")).toBe("thread_01:abc.2");
    for (const hostile of ["--dangerously-skip-permissions", "-x", "../../etc/passwd", "a b", "a\nb", "", "x".repeat(201)]) expect(plainSessionId(hostile)).toBeUndefined();
    expect(plainSessionId(undefined)).toBeUndefined();
  });
});

describe("copySessionTree", () => {
  it("copies the agent's session folders as data: regular files and folders, nothing else of HOME", async () => {
    const home = await temp();
    const kept = await temp();
    await mkdir(join(home, ".claude/projects/-w"), { recursive: true });
    await writeFile(join(home, ".claude/projects/-w/s1.jsonl"), '{"a":1}\n');
    await writeFile(join(home, ".claude.json"), "{}");
    const copy = await copySessionTree(home, kept, [".claude/projects"]);
    expect(copy).toEqual({ files: 1, bytes: 8 });
    expect(await readFile(join(kept, ".claude/projects/-w/s1.jsonl"), "utf8")).toBe('{"a":1}\n');
    expect(await readdir(kept)).toEqual([".claude"]);
  });

  it("never follows a symlink the agent planted: in the tree, or on the way to it", async () => {
    const home = await temp();
    const kept = await temp();
    const secret = await temp();
    await writeFile(join(secret, "id_rsa"), "SECRET");
    await mkdir(join(home, ".claude/projects"), { recursive: true });
    await symlink(join(secret, "id_rsa"), join(home, ".claude/projects/key.jsonl"));
    await symlink(secret, join(home, ".claude/projects/dir"));
    await writeFile(join(home, ".claude/projects/ok.jsonl"), "ok");
    const copy = await copySessionTree(home, kept, [".claude/projects"]);
    expect(copy.files).toBe(1);
    expect(copy.skipped).toMatch(/not a regular file/);
    expect((await readdir(join(kept, ".claude/projects"))).sort()).toEqual(["ok.jsonl"]);

    // .codex itself a symlink to a host folder: nothing is read through it.
    const home2 = await temp();
    await symlink(secret, join(home2, ".codex"));
    const copy2 = await copySessionTree(home2, await temp(), [".codex/sessions"]);
    expect(copy2.files).toBe(0);
    expect(copy2.skipped).toMatch(/\.codex is not a folder/);
    // The kept folder itself a symlink (planted in a journal an agent could write): nothing is copied.
    const link = join(await temp(), "session");
    await symlink(home, link);
    const copy3 = await copySessionTree(link, await temp(), [".claude/projects"]);
    expect(copy3).toMatchObject({ files: 0 });
    expect(copy3.skipped).toMatch(/is not a folder/);
    // A path outside HOME is refused.
    expect((await copySessionTree(home, await temp(), ["../x"])).skipped).toMatch(/not a path inside HOME/);
  });

  it("a missing session folder copies nothing and is no error", async () => {
    expect(await copySessionTree(await temp(), await temp(), [".claude/projects"])).toEqual({ files: 0, bytes: 0 });
  });
});

/** An agent that writes its "session" under HOME, prints what it finds of an earlier one, and records each exec's input. */
function sessionAgent(inputs: AgentCommandInput[]): Agent {
  return {
    name: "sessions",
    sessionFiles: [".agent/sessions"],
    command: (input) => {
      inputs.push(input);
      return { argv: ["sh", "-c", 'cat "$HOME/.agent/sessions/s.txt" 2>/dev/null; mkdir -p "$HOME/.agent/sessions"; echo "$0" > "$HOME/.agent/sessions/s.txt"; echo "session s-1"', input.prompt] };
    },
    parser: () => ({ parse: (line) => (line.startsWith("session ") ? [{ type: "session", sessionId: line.slice(8) }] : [{ type: "text", text: line }]) }),
  };
}

describe("run({ keepSession, resume })", () => {
  it("keeps the agent's session files, hands them and the session id to the resumed run's first iteration only, and says resumedFrom", async () => {
    const dir = await tempRepo();
    const kept = await temp();
    try {
      const inputs: AgentCommandInput[] = [];
      const first = await run({ agent: sessionAgent(inputs), cwd: dir, prompt: "one", isolation: inPlaceIsolation.create({}), handleProcessSignals: false, keepSession: kept });
      expect(first.sessionId).toBe("s-1");
      expect(await readFile(join(kept, ".agent/sessions/s.txt"), "utf8")).toBe("one\n");
      const events: RunEvent[] = [];
      await run({
        agent: sessionAgent(inputs),
        cwd: dir,
        prompt: "two",
        maxIterations: 2,
        isolation: inPlaceIsolation.create({}),
        handleProcessSignals: false,
        resume: { runId: first.runId, sessionId: "s-1", sessionDir: kept },
        onEvent: (e) => events.push(e),
      });
      expect(inputs.map((i) => i.resumeSessionId)).toEqual([undefined, "s-1", undefined]);
      expect(events.find((e) => e.type === "run.started")).toMatchObject({ resumedFrom: first.runId });
      // The resumed exec found the first run's session in its new HOME.
      const texts = events.flatMap((e) => agentEventsOf(e).flatMap((a) => (a.type === "text" ? [a.text] : [])));
      expect(texts[0]).toBe("one");
    } finally {
      await removeDir(dir);
    }
  });

  it("an agent-written session id that is not a plain id is not passed on: a new session, and a warning", async () => {
    const dir = await tempRepo();
    try {
      const inputs: AgentCommandInput[] = [];
      const events: RunEvent[] = [];
      await run({ agent: sessionAgent(inputs), cwd: dir, prompt: "x", isolation: inPlaceIsolation.create({}), handleProcessSignals: false, resume: { runId: "r0", sessionId: "--dangerously-skip-permissions" }, onEvent: (e) => events.push(e) });
      expect(inputs.map((i) => i.resumeSessionId)).toEqual([undefined]);
      expect(events.some((e) => e.type === "log" && e.message.includes("is not a plain id"))).toBe(true);
      // An agent that does not say where its sessions live gets none: its CLI would not find it.
      const { sessionFiles: _none, ...noFiles } = sessionAgent(inputs);
      const warned: RunEvent[] = [];
      await run({ agent: noFiles, cwd: dir, prompt: "y", isolation: inPlaceIsolation.create({}), handleProcessSignals: false, resume: { runId: "r0", sessionId: "s-1" }, onEvent: (e) => warned.push(e) });
      expect(inputs.at(-1)?.resumeSessionId).toBeUndefined();
      expect(warned.some((e) => e.type === "log" && e.message.includes("does not say where its CLI keeps sessions"))).toBe(true);
    } finally {
      await removeDir(dir);
    }
  });
});
