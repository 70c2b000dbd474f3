import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { agentEventsOf, type RunEvent } from "@corral/core";
import { gitIn, hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";

// Finding 6 of issue 14: what an agent prints reaches the terminal, the log file and `corral runs
// logs` inert (its control codes shown, never obeyed); the journal and NDJSON keep its exact text.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string, env: Record<string, string> = {}) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", ...env } });
const ESC = "\x1b";

/** A real agent process: prints its payload file (JSON strings) to stdout and stderr, and may commit with a subject. */
let agentScript: string;
beforeAll(async () => {
  agentScript = join(await tempDir(), "agent.mjs");
  await writeFile(
    agentScript,
    `import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
const { stdout = "", stderr = "", subject, exit = 0 } = JSON.parse(readFileSync(process.argv[2], "utf8"));
process.stdout.write(stdout);
process.stderr.write(stderr);
if (subject) {
  execFileSync("sh", ["-c", 'echo work > work.txt && git add work.txt'], { stdio: "ignore" });
  execFileSync("git", ["-c", "user.name=Agent", "-c", "user.email=agent@example.com", "commit", "-qm", subject], { stdio: "ignore" });
}
if (exit === 0) process.stdout.write("<promise>COMPLETE</promise>\\n");
process.exitCode = exit;
`,
  );
});

async function agentFor(payload: { stdout?: string; stderr?: string; subject?: string; exit?: number }): Promise<string[]> {
  const file = join(await tempDir(), "payload.json");
  await writeFile(file, JSON.stringify(payload));
  return ["--", "node", agentScript, file];
}

/** What a terminal shows for `raw`: each line as left after its last carriage return (corral redraws its status line with \r + erase). */
function screenLines(raw: string): string[] {
  return raw
    .replace(/\x1b\[(?:2K|[0-9;]*m)/g, "") // corral's own: erase line, colours
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .map((line) => line.slice(line.lastIndexOf("\r") + 1));
}

/** Nothing a terminal would obey, besides corral's own erase-line and colour codes and its \r before them. */
function expectInertOnATerminal(raw: string): void {
  expect(raw.replace(/\x1b\[(?:2K|[0-9;]*m)/g, "")).not.toMatch(/\x1b/);
  expect(raw).not.toMatch(/\r(?!\n|\x1b\[2K)/);
  expect(raw).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]/);
  expect(raw).not.toMatch(/[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/);
}

/** Plain text: no control character at all but tab and newline, no bidi or zero-width character. */
function expectPlainText(text: string): void {
  expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  expect(text).not.toMatch(/[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/);
}

const ESCAPES: Array<[string, string, string]> = [
  ["OSC 0 (sets the window title)", `${ESC}]0;pwned${"\x07"}`, "␛]0;pwned␇"],
  ["OSC 52 (writes the clipboard)", `${ESC}]52;c;cm0gLXJmIH4=\x07`, "␛]52;c;cm0gLXJmIH4=␇"],
  ["OSC 8 (a hyperlink)", `${ESC}]8;;https://evil.example/${ESC}\\docs${ESC}]8;;${ESC}\\`, "␛]8;;https://evil.example/␛\\docs␛]8;;␛\\"],
  ["CSI erase and cursor up, overwriting corral's line", `${ESC}[2K${ESC}[1A${ESC}[2Krun succeeded: 9 iteration(s) in 0.1 s`, "␛[2K␛[1A␛[2Krun succeeded: 9 iteration(s) in 0.1 s"],
  ["CSI clear screen and cursor home", `${ESC}[H${ESC}[2J${ESC}[3J`, "␛[H␛[2J␛[3J"],
  ["a carriage return over the line", "working\rrun succeeded: 9 iteration(s)", "working␍run succeeded: 9 iteration(s)"],
  ["backspaces over the line", "public\b\b\b\b\b\bSECRET", "public␈␈␈␈␈␈SECRET"],
  ["C1 CSI (U+009B)", "\u009b1A\u009b2K", "<U+009B>1A<U+009B>2K"],
  ["DCS and APC strings", `${ESC}Pq#0;1${ESC}\\ ${ESC}_apc${ESC}\\`, "␛Pq#0;1␛\\ ␛_apc␛\\"],
  ["a bidi override", "access\u202e // evil\u202c", "access<U+202E> // evil<U+202C>"],
  ["zero-width characters", "rm\u200b -rf\u2060 /", "rm<U+200B> -rf<U+2060> /"],
];

describe("escape sequences an agent prints, on a terminal (a real TTY under script)", () => {
  it.for(ESCAPES)("%s: shown inert; corral's own lines intact", async ([_label, escape, visible], ctx) => {
    if (!requireTool(await hasCommand("script"), "script (util-linux) is not installed")) ctx.skip();
    const repo = await tempRepo();
    const agent = await agentFor({ stdout: `before ${escape} after\n` });
    const command = ["node", BIN, "run", "--isolation", "in-place", "--prompt", "x", "--name", "tty", ...agent].map((a) => `'${a}'`).join(" ");
    const r = await execa("script", ["-qfec", command, "/dev/null"], { cwd: repo, reject: false, stdin: "ignore", env: { TERM: "xterm-256color", COLUMNS: "120" } });
    expect(r.exitCode).toBe(0);
    expectInertOnATerminal(r.stdout);
    const screen = screenLines(r.stdout);
    // A single run's lines carry no prefix, named or not.
    expect(screen).toContain(`before ${visible} after`);
    // corral's own summary lines are there, whole, each on a line of its own (and once).
    expect(screen).toContainEqual(expect.stringMatching(/^run succeeded: 1 iteration\(s\) in [\d.]+ s$/));
    expect(screen).toContain("  commits: 0");
  });

  it("twin: ordinary text, other scripts, emoji and tabs show exactly as printed", async (ctx) => {
    if (!requireTool(await hasCommand("script"), "script (util-linux) is not installed")) ctx.skip();
    const repo = await tempRepo();
    const text = "café naïve — 日本語 — שלום — 👩‍💻 ✅ 👍🏽\tcol2\tcol3";
    const agent = await agentFor({ stdout: `${text}\n` });
    const command = ["node", BIN, "run", "--isolation", "in-place", "--prompt", "x", "--name", "tty", ...agent].map((a) => `'${a}'`).join(" ");
    const r = await execa("script", ["-qfec", command, "/dev/null"], { cwd: repo, reject: false, stdin: "ignore", env: { TERM: "xterm-256color" } });
    expect(r.exitCode).toBe(0);
    expect(screenLines(r.stdout)).toContain(text);
  });
});

describe("escape sequences from every part of a sandbox, in plain output, log files and the journal", () => {
  const all = ESCAPES.map(([, escape]) => escape);
  const visible = ESCAPES.map(([, , shown]) => shown);

  it("agent stdout and stderr, hook output and a commit subject: inert on stderr, in --log-file and the journal's log (`corral runs logs`, -f too); exact in NDJSON and events.jsonl", async () => {
    const repo = await tempRepo();
    const log = join(await tempDir(), "run.log");
    const stdoutLines = all.map((escape, i) => `out ${i} ${escape}`);
    const agent = await agentFor({ stdout: `${stdoutLines.join("\n")}\n`, stderr: `err ${all[0]}${all[3]}\n`, subject: `agent: ${all[3]}fix` });
    const hook = `printf 'hook \\033]0;hooked\\007 \\033[1A\\n'`;
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", "--name", "plain", "--log-file", log, "--json", "--setup", hook, ...agent], repo);
    expect(r.exitCode).toBe(0);

    // The human side: stderr (no TTY, so no ANSI at all), the log file, the journal's log (`corral runs logs`, rendered from events.jsonl).
    const id = JSON.parse(r.stdout.split("\n")[0]!).runId as string;
    const journalDir = join(repo, ".corral", "runs", id);
    const logs = await corral(["runs", "logs", id], repo);
    expect(logs.exitCode).toBe(0);
    const runLog = logs.stdout;
    for (const text of [r.stderr, readFileSync(log, "utf8"), runLog]) {
      expectPlainText(text);
      visible.forEach((shown, i) => expect(text).toContain(`out ${i} ${shown}`));
      expect(text).toContain("stderr: err ␛]0;pwned␇␛[2K␛[1A");
      expect(text).toContain("onWorkspaceReady| hook ␛]0;hooked␇ ␛[1A");
      expect(text).toContain("agent: ␛[2K␛[1A␛[2Krun succeeded: 9 iteration(s) in 0.1 sfix");
    }
    // The summary lists the commit by its subject, inert.
    expect(r.stderr).toMatch(/\n {4}[0-9a-f]{8} agent: ␛\[2K␛\[1A␛\[2Krun succeeded: 9 iteration\(s\) in 0\.1 sfix\n/);

    // Followed, `corral runs logs` prints the same inert log.
    const followed = await corral(["runs", "logs", id, "-f"], repo);
    expect(followed.exitCode).toBe(0);
    expect(followed.stdout).toBe(runLog);

    // The machine side: NDJSON and events.jsonl are inert bytes whose JSON is the exact text.
    const events = readFileSync(join(journalDir, "events.jsonl"), "utf8");
    expectPlainText(events);
    // events.jsonl keeps runs of lines as one journal.lines event: its readers give back the events.
    const journaled = (await corral(["runs", "logs", id, "--json"], repo)).stdout;
    for (const ndjson of [r.stdout, journaled]) {
      expectPlainText(ndjson);
      const parsed = ndjson.trim().split("\n").map((line) => JSON.parse(line) as { type: string; event?: { type: string; text?: string; line?: string }; line?: string; commits?: Array<{ subject: string }> });
      expect(parsed.flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : [])))).toEqual([...stdoutLines, "<promise>COMPLETE</promise>"]);
      expect(parsed.flatMap((e) => agentEventsOf(e as unknown as RunEvent)).find((a) => a.type === "raw")).toMatchObject({ line: `err ${all[0]}${all[3]}` });
      expect(parsed.find((e) => e.type === "hook.output")?.line).toBe(`hook ${ESC}]0;hooked\x07 ${ESC}[1A`);
      expect(parsed.find((e) => e.type === "commits")?.commits?.[0]?.subject).toBe(`agent: ${all[3]}fix`);
    }
    expect(await gitIn(repo, "log", "--format=%s", "-1")).toBe(`agent: ${all[3]}fix`);

    // `corral runs show`: inert for people, exact JSON for machines.
    const show = await corral(["runs", "show", id], repo);
    expectPlainText(show.stdout);
    expect(show.stdout).toContain("agent: ␛[2K␛[1A␛[2Krun succeeded: 9 iteration(s) in 0.1 sfix");
    const showJson = await corral(["runs", "show", id, "--json"], repo);
    expectPlainText(showJson.stdout);
    const shown = JSON.parse(showJson.stdout) as { commits: Array<{ subject: string }>; events: unknown[] };
    expect(shown.commits[0]!.subject).toBe(`agent: ${all[3]}fix`);
    expect(shown.events).toHaveLength(journaled.trim().split("\n").length);
  });

  it("the output tail quoted by a failed run's error is inert", async () => {
    const repo = await tempRepo();
    const agent = await agentFor({ stdout: `last words ${all[3]}\n`, stderr: `${ESC}]52;c;cm0gLXJmIH4=\x07\n`, exit: 3 });
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", ...agent], repo);
    expect(r.exitCode).toBe(1);
    expectPlainText(r.stderr);
    expect(r.stderr).toContain("exited with code 3");
    expect(r.stderr).toContain("last words ␛[2K␛[1A␛[2Krun succeeded: 9 iteration(s) in 0.1 s");
    expect(r.stderr).toContain("␛]52;c;cm0gLXJmIH4=␇");
  });

  it("twin: ordinary text, other scripts, emoji and tabs are unchanged everywhere", async () => {
    const repo = await tempRepo();
    const log = join(await tempDir(), "run.log");
    const text = "café naïve — 日本語 — שלום — مرحبا — 👩‍💻 ✅ 👍🏽\tcol2\tcol3";
    const agent = await agentFor({ stdout: `${text}\n`, subject: "agent: café ✅" });
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", "--name", "twin", "--log-file", log, "--json", ...agent], repo);
    expect(r.exitCode).toBe(0);
    const id = JSON.parse(r.stdout.split("\n")[0]!).runId as string;
    expect(r.stderr).toContain(`\n${text}\n`);
    expect(r.stderr).toMatch(/ agent: café ✅\n/);
    expect(readFileSync(log, "utf8")).toContain(`[twin] #1 ${text}\n`);
    expect((await corral(["runs", "logs", id], repo)).stdout).toContain(`[twin] #1 ${text}\n`);
    const texts = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; event?: { text?: string } }).flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(texts).toEqual([text, "<promise>COMPLETE</promise>"]);
  });
});
