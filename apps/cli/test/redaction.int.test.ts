import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

// Finding 7 of issue 14: a secret value passed with --env never leaves corral, neither as it is
// nor in its usual encodings nor split over two lines, in any output: the summary, the board,
// errors, the journal, the log file and NDJSON.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const SECRET = "tok-Zx9/Q+r8 wY7!vT6_uS5~pR4=";
const env = { NO_COLOR: "1", CORRAL_TEST_TOKEN: SECRET };
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env });

const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => Buffer.from(text).toString("base64url");
const hex = (text: string) => Buffer.from(text).toString("hex");

/** Every encoding the agent prints (the agent's own code for each is in AGENT below), as the redactor must not let through. */
const ENCODINGS: Array<[string, string]> = [
  ["as it is", "plain"],
  ["base64", "base64"],
  ["base64 inside a longer base64 text, at each alignment", "base64-inside"],
  ["base64url", "base64url"],
  ["hex", "hex"],
  ["HEX", "HEX"],
  ["URL-encoding", "url"],
  ["form encoding (lower-case escapes, + for space)", "form"],
  ["split over two lines", "split"],
  ["base64, wrapped over two lines", "base64-wrapped"],
];

/** The completion signal (docs/cli.md): without it a run that used up its iterations ends incomplete. */
const SIGNAL = "<promise>COMPLETE</promise>";

/** The agent: reads the secret from its env (as an agent would), prints it as told, and may commit with it or fail; when it does not fail, it ends with the completion signal. */
const AGENT = `import { execFileSync } from "node:child_process";
const { modes = [], lines = [], subject, exit = 0 } = JSON.parse(process.argv[2]);
const s = process.env.CORRAL_TEST_TOKEN;
const b64 = (t) => Buffer.from(t).toString("base64");
const encode = {
  plain: () => "plain " + s,
  base64: () => "b64 " + b64(s),
  "base64-inside": () => "creds " + b64("user:" + s) + " " + b64("us:" + s) + " " + b64("u:" + s),
  base64url: () => "state " + Buffer.from('{"t":"' + s + '"}').toString("base64url"),
  hex: () => "hex " + Buffer.from(s).toString("hex"),
  HEX: () => "HEX 0x" + Buffer.from(s).toString("hex").toUpperCase(),
  url: () => "GET https://example.com/cb?t=" + encodeURIComponent(s) + "&x=1",
  form: () => "body t=" + encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()).replace(/%20/g, "+"),
  split: () => "key " + s.slice(0, 11) + "\\n" + s.slice(11) + " end",
  "base64-wrapped": () => b64(s + s).replace(/^(.{20})/, "$1\\n"),
};
for (const mode of modes) console.log(encode[mode]());
for (const line of lines) console.log(line);
if (subject) {
  execFileSync("sh", ["-c", "echo work > work.txt && git add work.txt"], { stdio: "ignore" });
  execFileSync("git", ["-c", "user.name=Agent", "-c", "user.email=agent@example.com", "commit", "-qm", "agent: " + encode[subject]()], { stdio: "ignore" });
}
if (exit === 0) console.log(${JSON.stringify(SIGNAL)});
process.exitCode = exit;
`;

/** What the agent prints of the secret, each with how many characters at its ends are not the secret's: no 10 characters of the rest may appear in an output. */
const FORMS: Array<[string, number, number]> = [
  [SECRET, 0, 0],
  [b64(SECRET), 0, 2],
  ...["user:", "us:", "u:"].map((prefix): [string, number, number] => [b64(`${prefix}${SECRET}`), 8, 2]),
  [b64url(`{"t":"${SECRET}"}`), 8, 4],
  [hex(SECRET), 0, 0],
  [hex(SECRET).toUpperCase(), 0, 0],
  [encodeURIComponent(SECRET), 0, 0],
  [encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()).replace(/%20/g, "+"), 0, 0],
  [b64(`${SECRET}${SECRET}`), 0, 2],
];
function expectNoSecret(where: string, text: string): void {
  for (const [form, head, tail] of FORMS) {
    for (let i = head; i + 10 <= form.length - tail; i += 2) expect(text, `${where} holds "${form.slice(i, i + 10)}" of ${form}`).not.toContain(form.slice(i, i + 10));
  }
}

let agentScript: string;
beforeAll(async () => {
  agentScript = join(await tempDir(), "agent.mjs");
  await writeFile(agentScript, AGENT);
});

/** The command-agent argv for the AGENT above. */
const agent = (payload: { modes?: string[]; lines?: string[]; subject?: string; exit?: number }) => ["--", "node", agentScript, JSON.stringify(payload)];
const allModes = ENCODINGS.map(([, mode]) => mode);

describe("a secret value the agent prints, in each encoding, never leaves corral", () => {
  it.each(ENCODINGS)("%s: not on stderr, in NDJSON, the summary, --log-file or the journal", async (_label, mode) => {
    const repo = await tempRepo();
    const log = join(await tempDir(), "run.log");
    const r = await corral(["run", "--isolation", "in-place", "--env", "CORRAL_TEST_TOKEN", "--prompt", "x", "--log-file", log, "--json", ...agent({ modes: [mode], subject: mode === "split" || mode === "base64-wrapped" ? "base64" : mode })], repo);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("***");
    expect(r.stderr).toContain("run succeeded: 1 iteration(s)");
    const id = JSON.parse(r.stdout.split("\n")[0]!).runId as string;
    const dir = join(repo, ".corral", "runs", id);
    expectNoSecret("stderr (lines and summary)", r.stderr);
    expectNoSecret("NDJSON", r.stdout);
    expectNoSecret("--log-file", readFileSync(log, "utf8"));
    for (const file of ["events.jsonl", "run.json"]) expectNoSecret(file, readFileSync(join(dir, file), "utf8"));
    for (const args of [["runs", "show", id], ["runs", "show", id, "--json"], ["runs", "logs", id]]) expectNoSecret(args.join(" "), (await corral(args, repo)).stdout);
  });

  it("in a failed run's error (its output tail), on stderr and in run.json", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--isolation", "in-place", "--env", "CORRAL_TEST_TOKEN", "--prompt", "x", ...agent({ modes: allModes, exit: 3 })], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("exited with code 3");
    expectNoSecret("the error on stderr", r.stderr.slice(r.stderr.indexOf("corral: ")));
    const [id] = JSON.parse((await corral(["runs", "list", "--json"], repo)).stdout).map((run: { id: string }) => run.id) as string[];
    const record = readFileSync(join(repo, ".corral", "runs", id!, "run.json"), "utf8");
    expect(record).toContain("E_AGENT_EXECUTION");
    expectNoSecret("run.json", record);
  });

  it("on a fleet's live board (a TTY) and in its summary", async (ctx) => {
    if (!requireTool(await hasCommand("script"), "script (util-linux) is not installed")) ctx.skip();
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "one", prompt: "x" }]));
    const argv = ["node", BIN, "run", "--tasks", "tasks.json", "--isolation", "worktree", "--env", "CORRAL_TEST_TOKEN", ...agent({ modes: allModes })];
    const r = await execa("script", ["-qfec", argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" "), "/dev/null"], { cwd: repo, reject: false, stdin: "ignore", env: { CORRAL_TEST_TOKEN: SECRET, TERM: "xterm" } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("1/1 task(s) succeeded");
    expectNoSecret("the board", r.stdout);
  });

  it("twin: what merely looks like an encoded secret is left as printed", async () => {
    const repo = await tempRepo();
    const lookalikes = [
      `b64 ${b64("an ordinary value, not the token")}`,
      "hex 9edfd4b0c1a2e3f4a5b6c7d8e9f00112233445566",
      "GET https://example.com/search?q=hello%20world%21&page=2 (100%)",
      `ends with a short piece ${SECRET.slice(0, 5)}`,
      `${SECRET.slice(-5)} starts with a short piece`,
    ];
    const r = await corral(["run", "--isolation", "in-place", "--env", "CORRAL_TEST_TOKEN", "--prompt", "x", "--json", ...agent({ lines: lookalikes })], repo);
    expect(r.exitCode).toBe(0);
    const texts = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; event?: { text?: string } }).flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(texts).toEqual([...lookalikes, SIGNAL]);
    for (const line of lookalikes) expect(r.stderr).toContain(line);
  });
});
