import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startMockModelApi } from "@corral/mock-model-api";
import { CONTAINER_TEST_IMAGE, containerEngineReady, gitIn, hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const PTY = fileURLToPath(new URL("./fixtures/pty-drive.py", import.meta.url));
const PACKAGES = fileURLToPath(new URL("../../../packages/", import.meta.url));
const CLAUDE_BIN = join(PACKAGES, "agent-claude/node_modules/.bin");
const KEY = "sk-ant-test-interactive-0123456789";
const COMMIT = "echo tui > tui.txt && git add tui.txt && git -c user.name=T -c user.email=t@e.x commit -qm 'commit from the tui' && echo committed";

// A person at the claude TUI: whatever first-run dialogs come are answered (each at most once), the
// prompt is typed, the tool call is allowed, and once the answer is there the session is left.
const PERSON: Array<[string, string]> = [
  ["Choosethetextstyle|Darkmode", "\r"],
  ["Doyouwanttousethis(API)?key", "\u001b[A\r"],
  ["Securitynotes|PressEntertocontinue", "\r"],
  ["terminalsetup", "\u001b"],
  ["Doyoutrustthefiles|Yes,proceed|Yes,Itrust", "\r"],
  ["\\?forshortcuts|Try\"", "Add tui.txt and commit it\r"],
  ["Doyouwanttoproceed", "\r"],
  // The answer's token: the TUI redraws by cursor moves and skips a character already on screen where it
  // writes ("Done, comm<move>tted."), so any three letters in a row of a token no earlier line has will do.
  ["QZX|ZXJ|XJK|JKV", "\u0003\u0003"],
];

const ready = requireTool(existsSync(join(CLAUDE_BIN, "claude")), "the claude CLI is not installed (pnpm install)") && requireTool(existsSync(BIN), "the corral CLI is not built (pnpm build)");

describe.runIf(ready)("corral run --interactive: the real claude TUI in a pseudo-terminal, against the mock API", () => {
  for (const sandbox of ["bwrap", "docker", "podman"] as const) {
    it(`${sandbox}: the TUI starts, a prompt is typed, the mock's tool call commits, and the commit lands on the run's branch`, async (ctx) => {
      const engine = sandbox === "bwrap" ? { ready: await hasCommand("bwrap"), reason: "bwrap is not installed" } : await containerEngineReady(sandbox);
      if (!requireTool(engine.ready, engine.reason)) ctx.skip();
      const api = await startMockModelApi({ script: [{ text: "Committing.", toolCalls: [{ shell: COMMIT }] }, { text: "Done, committed: QZXJKV." }] });
      try {
        const repo = await tempRepo();
        await mkdir(join(repo, "node_modules/@corral"), { recursive: true });
        await symlink(join(PACKAGES, "agent-claude"), join(repo, "node_modules/@corral/agent-claude"));
        const config = join(await tempDir(), "corral.config.json");
        // A container has its own filesystem: the installed CLI (a native binary) is shown in it read-only, as the agent E2E tests do.
        const inContainer = { name: sandbox, options: { image: CONTAINER_TEST_IMAGE } };
        const mounts = sandbox === "bwrap" ? [] : [{ host: join(PACKAGES, "agent-claude/node_modules/@anthropic-ai/claude-code/bin/claude.exe"), sandbox: "/usr/local/bin/claude" }];
        // No hook marks claude's onboarding done: the claude plugin's setup does (its first-run check would call api.anthropic.com).
        await writeFile(config, JSON.stringify({ sandbox: sandbox === "bwrap" ? { name: "bwrap" } : inContainer, mounts }));
        const args = ["run", "--interactive", "--agent", "claude", "--config", config, "--isolation", "worktree", "--name", "tui", "--credentials", "gateway"];
        const r = await execa("python3", [PTY, JSON.stringify(PERSON), "150", "--", "node", BIN, ...args], {
          cwd: repo,
          reject: false,
          stdin: "ignore",
          env: { PATH: `${CLAUDE_BIN}:${process.env.PATH}`, TERM: "xterm-256color", ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url, CLAUDE_CODE_MAX_RETRIES: "0" },
        });
        const transcript = `${r.stdout}\n${r.stderr}`;
        if (process.env.CORRAL_TUI_TRANSCRIPT) await writeFile(process.env.CORRAL_TUI_TRANSCRIPT, transcript);
        // The TUI asked the mock (through corral's gateway: the key stayed on the host) and ran its tool call.
        expect(api.conversation().length, transcript.slice(-3000)).toBeGreaterThanOrEqual(2);
        expect(api.conversation().every((q) => q.headers["x-api-key"] === KEY)).toBe(true);
        expect(await gitIn(repo, "log", "-1", "--format=%s", "corral/tui"), transcript.slice(-3000)).toBe("commit from the tui");
        // The key itself never reached the sandbox or the terminal.
        expect(r.stdout).not.toContain(KEY);
      } finally {
        await api.close();
      }
    }, 200_000);
  }
});
