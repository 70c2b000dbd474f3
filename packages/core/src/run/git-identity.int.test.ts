import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { tempDir } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { commandAgent } from "../builtins/command-agent.js";
import { agentEventsOf, type RunEvent } from "../events.js";
import { gitIdentity } from "../run-git-dir.js";
import { run, type RunOptions } from "../run.js";

/** The agent commits a file the way a coding agent does: plain `git commit`, no identity of its own. */
const committingAgent = commandAgent.configure({
  argv: ["sh", "-c", 'echo $$ >> work.txt && git add work.txt && git commit -q -m "agent work"; echo "identity: $(git config user.name)"; git config --get alias.secret; git config --get core.editor; true', "{prompt}"],
});

/** A repository with no identity of its own (the usual case: it lives in ~/.gitconfig). */
async function repoWithoutIdentity(): Promise<string> {
  const dir = await tempDir("corral-identity-repo-");
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
  await execa("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
  await writeFile(join(dir, "README.md"), "# x\n");
  await execa("git", ["add", "-A"], { cwd: dir, env });
  await execa("git", ["-c", "user.name=Setup", "-c", "user.email=setup@example.com", "commit", "-q", "-m", "initial"], { cwd: dir, env });
  return dir;
}

/** A HOME whose ~/.gitconfig holds the identity and things that must never reach the sandbox. */
async function homeWithGitconfig(): Promise<string> {
  const home = await tempDir("corral-identity-home-");
  await writeFile(join(home, ".gitconfig"), "[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n[alias]\n\tsecret = !echo leaked\n[core]\n\teditor = host-editor\n");
  return home;
}

async function runWith(cwd: string, hostEnv: Record<string, string>, extra: Partial<RunOptions<undefined>> = {}) {
  const events: RunEvent[] = [];
  const result = await run({ cwd, agent: committingAgent, prompt: "commit", handleProcessSignals: false, hostEnv, onEvent: (e) => events.push(e), ...extra });
  const output = events.flatMap((e) => agentEventsOf(e).map((a) => JSON.stringify(a))).join("\n");
  const warnings = events.flatMap((e) => (e.type === "log" && e.level === "warn" ? [e.message] : []));
  return { result, output, warnings };
}

const author = async (cwd: string) => (await execa("git", ["log", "-1", "--format=%an <%ae>|%cn <%ce>"], { cwd })).stdout;

describe("git identity inside the sandbox", () => {
  it("the agent commits as the user of ~/.gitconfig, and nothing else of that gitconfig reaches it", async () => {
    const repo = await repoWithoutIdentity();
    const home = await homeWithGitconfig();
    const { result, output, warnings } = await runWith(repo, { PATH: process.env.PATH!, HOME: home });
    expect(result.commits.map((c) => c.subject)).toEqual(["agent work"]);
    expect(await author(repo)).toBe("Ada Lovelace <ada@example.com>|Ada Lovelace <ada@example.com>");
    expect(output).toContain("identity: Ada Lovelace"); // what the agent printed is here to look at
    expect(output).not.toContain("leaked");
    expect(output).not.toContain("host-editor");
    expect(warnings.join("\n")).not.toContain("git identity");
  });

  it("GIT_AUTHOR_* in the host env win over git config, as they do for git", async () => {
    const repo = await repoWithoutIdentity();
    const home = await homeWithGitconfig();
    await runWith(repo, { PATH: process.env.PATH!, HOME: home, GIT_AUTHOR_NAME: "Env Person", GIT_AUTHOR_EMAIL: "env@example.com" });
    expect(await author(repo)).toBe("Env Person <env@example.com>|Env Person <env@example.com>");
  });

  it("a configured identity wins, and the run's explicit env wins over it", async () => {
    const repo = await repoWithoutIdentity();
    const home = await homeWithGitconfig();
    await runWith(repo, { PATH: process.env.PATH!, HOME: home }, { gitIdentity: { name: "Bot", email: "bot@example.com" } });
    expect(await author(repo)).toBe("Bot <bot@example.com>|Bot <bot@example.com>");
    await runWith(repo, { PATH: process.env.PATH!, HOME: home }, { gitIdentity: { name: "Bot", email: "bot@example.com" }, env: { GIT_AUTHOR_NAME: "Explicit" } });
    expect(await author(repo)).toBe("Explicit <bot@example.com>|Bot <bot@example.com>");
  });

  it("what the agent sets itself still wins (git -c, its repository's config), as git would have it", async () => {
    const repo = await repoWithoutIdentity();
    const home = await homeWithGitconfig();
    const own = commandAgent.configure({ argv: ["sh", "-c", 'echo $$ >> own.txt && git add own.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m own', "{prompt}"] });
    await run({ cwd: repo, agent: own, prompt: "commit", handleProcessSignals: false, hostEnv: { PATH: process.env.PATH!, HOME: home } });
    expect(await author(repo)).toBe("Agent <agent@example.com>|Agent <agent@example.com>");
  });

  it("with no identity anywhere the run says up front that commits will fail, and how to fix it", async () => {
    const repo = await repoWithoutIdentity();
    const emptyHome = await tempDir("corral-identity-empty-");
    await mkdir(join(emptyHome, ".config"), { recursive: true });
    const { result, warnings } = await runWith(repo, { PATH: process.env.PATH!, HOME: emptyHome, XDG_CONFIG_HOME: join(emptyHome, ".config") });
    expect(result.commits).toEqual([]);
    expect(warnings.join("\n")).toMatch(/No git identity found.*git config --global user\.name.*gitIdentity/s);
  });

  it("gitIdentity: false passes none and does not warn", async () => {
    const repo = await repoWithoutIdentity();
    const home = await homeWithGitconfig();
    const { result, warnings } = await runWith(repo, { PATH: process.env.PATH!, HOME: home }, { gitIdentity: false });
    expect(result.commits).toEqual([]);
    expect(warnings.join("\n")).not.toContain("git identity");
  });
  it("the identity is read as `git config --get` reads each key: the last value wins, names in any case, a subsection's ignored, both or none", async () => {
    const repo = await repoWithoutIdentity();
    const home = await homeWithGitconfig();
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
    const get = async (key: string) => (await execa("git", ["config", "--get", key], { cwd: repo, env: { ...process.env, ...env }, reject: false })).stdout.trim();
    expect(await gitIdentity(repo, env)).toEqual({ name: "Ada Lovelace", email: "ada@example.com" });
    // The repository's own values come after the global ones; a key without a value, a second [User] section, a subsection.
    await writeFile(join(repo, ".git/config"), `${await readFile(join(repo, ".git/config"), "utf8")}\n[user]\n\tname\n[User]\n\tNAME = " Grace  Hopper "\n[user "work"]\n\tname = Not Her\n\temail = not@example.com\n`);
    expect(await gitIdentity(repo, env)).toEqual({ name: await get("user.name"), email: await get("user.email") });
    expect(await gitIdentity(repo, env)).toEqual({ name: "Grace  Hopper", email: "ada@example.com" });
    // Only a name (the repository's): no identity.
    const emptyHome = await tempDir("corral-identity-empty-");
    const bare = { HOME: emptyHome, XDG_CONFIG_HOME: join(emptyHome, ".config") };
    expect(await gitIdentity(repo, bare)).toBeUndefined();
    // A config git cannot read is no identity, as each `git config --get` fails on it.
    await writeFile(join(repo, ".git/config"), "[core\n");
    expect(await gitIdentity(repo, env)).toBeUndefined();
  });
});
