import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingCredentialsError, PluginOptionsError } from "@corral/core";
import { describe, expect, it } from "vitest";
import { claude, claudeAgent } from "./index.js";

const agentWith = (options?: Parameters<typeof claude>[0]) => claudeAgent.create(claude(options).options);
const input = { prompt: "do it", iteration: 1, home: "/h", cwd: "/w" };

describe("claude command", () => {
  it("runs `claude` from PATH in print mode with stream-json, bypass permissions and the default model; the prompt goes to stdin", () => {
    const command = agentWith().command(input);
    expect(command.argv).toEqual(["claude", "--print", "--output-format", "stream-json", "--verbose", "--model", "sonnet", "--dangerously-skip-permissions"]);
    expect(command.stdin).toBe("do it");
  });

  it("maps every option to its flag", () => {
    const command = agentWith({ executable: "/opt/claude", model: "opus", permissionMode: "acceptEdits", maxTurns: 7, appendSystemPrompt: "be brief", effort: "high", extraArgs: ["--debug"] }).command(input);
    expect(command.argv).toEqual([
      "/opt/claude", "--print", "--output-format", "stream-json", "--verbose", "--model", "opus",
      "--permission-mode", "acceptEdits", "--max-turns", "7", "--append-system-prompt", "be brief", "--effort", "high", "--debug",
    ]);
  });

  it("resumes the session it is given", () => {
    const command = agentWith().command({ ...input, resumeSessionId: "abc-123" });
    expect(command.argv.slice(-2)).toEqual(["--resume", "abc-123"]);
  });

  it("keeps a prompt over 128 KiB out of argv", () => {
    const prompt = "x".repeat(300 * 1024);
    const command = agentWith().command({ ...input, prompt });
    expect(command.stdin).toBe(prompt);
    expect(Math.max(...command.argv.map((a) => a.length))).toBeLessThan(1024);
  });

  it("rejects unknown and invalid options, naming the field", () => {
    expect(() => claude({ sandboxMode: "x" } as never)).toThrow(PluginOptionsError);
    expect(() => claude({ maxTurns: 0 })).toThrow(/maxTurns/);
    expect(() => claude({ effort: "extreme" } as never)).toThrow(/effort/);
  });
});

describe("claude setup", () => {
  it("marks onboarding done in the per-run HOME (the TUI's first-run dialogs), and keeps a ~/.claude.json already there", async () => {
    const home = mkdtempSync(join(tmpdir(), "claude-home-"));
    agentWith().setup!({ env: { ANTHROPIC_API_KEY: "k" }, home });
    expect(JSON.parse(readFileSync(join(home, ".claude.json"), "utf8"))).toEqual({ hasCompletedOnboarding: true });
    writeFileSync(join(home, ".claude.json"), '{"theme":"light"}');
    agentWith().setup!({ env: { ANTHROPIC_API_KEY: "k" }, home });
    expect(readFileSync(join(home, ".claude.json"), "utf8")).toBe('{"theme":"light"}');
    rmSync(home, { recursive: true });
  });

  it("throws MissingCredentialsError without any credential", () => {
    const agent = agentWith();
    expect(() => agent.setup!({ env: { PATH: "/bin" }, home: "/h" })).toThrow(MissingCredentialsError);
    expect(agent.env?.credentials).toEqual(["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"]);
  });

  it("accepts any one credential and turns off non-essential traffic, keeping values the run set", () => {
    for (const name of ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"]) {
      const env = agentWith().setup!({ env: { [name]: "secret-value", DISABLE_TELEMETRY: "0" }, home: "/h" });
      expect(env).toEqual({ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_ERROR_REPORTING: "1", DISABLE_AUTOUPDATER: "1", IS_SANDBOX: "1" });
    }
  });

  it("only claims a sandbox for bypass mode", () => {
    const env = agentWith({ permissionMode: "acceptEdits" }).setup!({ env: { ANTHROPIC_API_KEY: "k" }, home: "/h" });
    expect(env).not.toHaveProperty("IS_SANDBOX");
  });
});
