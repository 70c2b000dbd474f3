import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingCredentialsError, PluginOptionsError } from "@corral/core";
import { afterEach, describe, expect, it } from "vitest";
import { codex, codexAgent } from "./index.js";

const agentWith = (options: Parameters<typeof codex>[0]) => codexAgent.create(codex(options).options);
const input = { prompt: "do it", iteration: 1, home: "/h", cwd: "/w" };

describe("codex command", () => {
  it("runs `codex exec --json` from PATH without its own sandbox or approvals; the prompt goes to stdin", () => {
    const command = agentWith({ model: "gpt-5-codex" }).command(input);
    expect(command.argv).toEqual(["codex", "exec", "--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "-m", "gpt-5-codex", "-"]);
    expect(command.stdin).toBe("do it");
  });

  it("maps effort to model_reasoning_effort and resumes with `exec … resume <id> -`", () => {
    const command = agentWith({ model: "m", effort: "high", executable: "/opt/codex", extraArgs: ["--ephemeral"] }).command({ ...input, resumeSessionId: "t-1" });
    expect(command.argv).toEqual([
      "/opt/codex", "exec", "--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "-m", "m",
      "-c", 'model_reasoning_effort="high"', "--ephemeral", "resume", "t-1", "-",
    ]);
  });

  it("keeps a prompt over 128 KiB out of argv", () => {
    const prompt = "y".repeat(300 * 1024);
    const command = agentWith({ model: "m" }).command({ ...input, prompt });
    expect(command.stdin).toBe(prompt);
    expect(Math.max(...command.argv.map((a) => a.length))).toBeLessThan(1024);
  });

  it("requires a model and rejects options that do not apply to codex", () => {
    expect(() => codex({} as never)).toThrow(/model/);
    expect(() => codex({ model: "m", permissionMode: "plan" } as never)).toThrow(PluginOptionsError);
    // The field is named in `issues` (core's redactor currently masks it in the message: `key: "…"`).
    const error = (() => {
      try {
        codex({ model: "m", maxTurns: 3 } as never);
      } catch (e) {
        return e as PluginOptionsError;
      }
    })();
    expect(error?.issues.map((i) => i.message).join()).toContain("maxTurns");
    expect(() => codex({ model: "m", effort: "max" } as never)).toThrow(/effort/);
    expect(() => codex({ model: "m", baseUrl: "not a url" })).toThrow(/baseUrl/);
  });
});

describe("codex setup", () => {
  let home: string | undefined;
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("throws MissingCredentialsError without the key, before writing anything", async () => {
    home = await mkdtemp(join(tmpdir(), "codex-setup-"));
    await expect(agentWith({ model: "m" }).setup!({ env: {}, home })).rejects.toThrow(MissingCredentialsError);
    await expect(stat(join(home, ".codex"))).rejects.toThrow();
    await expect(agentWith({ model: "m", envKey: "AZURE_KEY" }).setup!({ env: { OPENAI_API_KEY: "x" }, home })).rejects.toThrow(/AZURE_KEY/);
  });

  it("writes a private config.toml with one env-keyed provider and moves TMPDIR off CODEX_HOME's parents", async () => {
    home = await mkdtemp(join(tmpdir(), "codex-setup-"));
    const agent = agentWith({ model: "m", baseUrl: "http://127.0.0.1:9/v1", maxRetries: 0 });
    expect(agent.env?.credentials).toEqual(["OPENAI_API_KEY"]);
    const env = await agent.setup!({ env: { OPENAI_API_KEY: "sk-secret-value" }, home });
    expect(env).toEqual({ CODEX_HOME: join(home, ".codex"), TMPDIR: join(home, "tmp") });
    const file = join(home, ".codex", "config.toml");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const toml = await readFile(file, "utf8");
    expect(toml).toContain('base_url = "http://127.0.0.1:9/v1"');
    expect(toml).toContain('env_key = "OPENAI_API_KEY"');
    expect(toml).toContain("unbounded_connection_retries = false");
    expect(toml).toContain("request_max_retries = 0");
    expect(toml).not.toContain("sk-secret-value");
  });

  it("takes the base URL from OPENAI_BASE_URL, else the OpenAI API", async () => {
    home = await mkdtemp(join(tmpdir(), "codex-setup-"));
    await agentWith({ model: "m" }).setup!({ env: { OPENAI_API_KEY: "k", OPENAI_BASE_URL: "http://proxy.local/v1" }, home });
    expect(await readFile(join(home, ".codex", "config.toml"), "utf8")).toContain('base_url = "http://proxy.local/v1"');
    await agentWith({ model: "m" }).setup!({ env: { OPENAI_API_KEY: "k" }, home });
    expect(await readFile(join(home, ".codex", "config.toml"), "utf8")).toContain('base_url = "https://api.openai.com/v1"');
  });
});
