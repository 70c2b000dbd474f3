import { MissingCredentialsError, PluginOptionsError } from "@corral/core";
import { describe, expect, it } from "vitest";
import { copilot, copilotAgent } from "./index.js";

const agentWith = (options: Parameters<typeof copilot>[0]) => copilotAgent.create(copilot(options).options);
const input = { prompt: "do it", iteration: 1, home: "/h", cwd: "/w" };

describe("copilot command", () => {
  it("runs copilot non-interactively with JSON Lines, every permission, no question and no update; the prompt goes to stdin", () => {
    const command = agentWith({ model: "gpt-5" }).command(input);
    expect(command.argv).toEqual(["copilot", "--output-format", "json", "--allow-all", "--no-ask-user", "--no-auto-update", "--no-color", "--model", "gpt-5", "--usage-output-file", "/h/.corral-copilot-usage.json"]);
    expect(command.stdin).toBe("do it");
  });

  it("maps effort, agent and tools-only permissions, and resumes with --resume=<id> in one argv word", () => {
    const command = agentWith({ model: "m", reasoningEffort: "high", agent: "reviewer", permissions: "tools", executable: "/opt/copilot", extraArgs: ["--log-level", "debug"] }).command({
      ...input,
      resumeSessionId: "-rf",
    });
    expect(command.argv).toEqual([
      "/opt/copilot", "--output-format", "json", "--allow-all-tools", "--no-ask-user", "--no-auto-update", "--no-color", "--model", "m",
      "--usage-output-file", "/h/.corral-copilot-usage.json", "--reasoning-effort", "high", "--agent=reviewer", "--resume=-rf", "--log-level", "debug",
    ]);
  });

  it("keeps a prompt over 128 KiB out of argv", () => {
    const prompt = "y".repeat(300 * 1024);
    const command = agentWith({ model: "m" }).command({ ...input, prompt });
    expect(command.stdin).toBe(prompt);
    expect(Math.max(...command.argv.map((a) => a.length))).toBeLessThan(1024);
  });

  it("requires a model and rejects options that are not copilot's", () => {
    expect(() => copilot({} as never)).toThrow(/model/);
    expect(() => copilot({ model: "m", permissionMode: "plan" } as never)).toThrow(PluginOptionsError);
    expect(() => copilot({ model: "m", baseUrl: "not a url" })).toThrow(/baseUrl/);
    expect(() => copilot({ model: "m", provider: "gemini" } as never)).toThrow(/provider/);
  });
});

describe("copilot setup", () => {
  it("throws MissingCredentialsError without the provider key", async () => {
    await expect(async () => agentWith({ model: "m" }).setup!({ env: {}, home: "/nonexistent" })).rejects.toThrow(MissingCredentialsError);
    await expect(async () => agentWith({ model: "m" }).setup!({ env: { OPENAI_API_KEY: "x" }, home: "/nonexistent" })).rejects.toThrow(/COPILOT_PROVIDER_API_KEY/);
  });

  it("returns the bring-your-own-key provider and the env that keeps Copilot offline and quiet, never the key itself", async () => {
    const env = await agentWith({ model: "gpt-5", baseUrl: "https://router.example/api/v1" }).setup!({ env: { COPILOT_PROVIDER_API_KEY: "sk-secret-value" }, home: "/h" });
    expect(env).toEqual({
      COPILOT_PROVIDER_BASE_URL: "https://router.example/api/v1",
      COPILOT_PROVIDER_TYPE: "openai",
      COPILOT_PROVIDER_WIRE_API: "completions",
      COPILOT_MODEL: "gpt-5",
      COPILOT_OFFLINE: "true",
      COPILOT_AUTO_UPDATE: "false",
      COPILOT_DISABLE_DESKTOP_NOTIFICATIONS: "1",
      COPILOT_DISABLE_TERMINAL_TITLE: "1",
    });
    expect(JSON.stringify(env)).not.toContain("sk-secret-value");
  });

  it("takes the base URL from the env, points it at the credentials gateway when the run keeps the key on the host; a run's own quiet-env value wins", async () => {
    const agent = agentWith({ model: "m", provider: "anthropic" });
    const fromEnv = await agent.setup!({ env: { COPILOT_PROVIDER_API_KEY: "k", COPILOT_PROVIDER_BASE_URL: "https://llm.internal/anthropic" }, home: "/h" });
    expect(fromEnv).toMatchObject({ COPILOT_PROVIDER_BASE_URL: "https://llm.internal/anthropic", COPILOT_PROVIDER_TYPE: "anthropic" });
    expect(fromEnv).not.toHaveProperty("COPILOT_PROVIDER_WIRE_API");
    const gw = await agent.setup!({ env: { COPILOT_PROVIDER_API_KEY: "placeholder", COPILOT_OFFLINE: "false" }, home: "/h", apiBaseUrl: "http://127.0.0.1:9/gw/copilot" });
    expect(gw).toMatchObject({ COPILOT_PROVIDER_BASE_URL: "http://127.0.0.1:9/gw/copilot" });
    expect(gw).not.toHaveProperty("COPILOT_OFFLINE");
  });

  it("declares the key as a credential and its API host for the allowlist and the gateway, with the provider's key header", () => {
    const agent = agentWith({ model: "m" });
    expect(agent.env).toEqual({ credentials: ["COPILOT_PROVIDER_API_KEY"], passthrough: ["COPILOT_PROVIDER_BASE_URL", "OPENAI_BASE_URL"] });
    expect(agent.sessionFiles).toEqual([".copilot/session-state", ".corral-copilot-usage.json"]);
    expect(agent.execReport?.file).toBe(".corral-copilot-usage.json");
    const api = agent.api!({ OPENAI_BASE_URL: "https://llm.internal:8443/v1" });
    expect(api?.hosts).toEqual(["llm.internal:8443"]);
    expect(api?.gateway).toMatchObject({ upstream: "https://llm.internal:8443/v1", keyEnv: "COPILOT_PROVIDER_API_KEY", baseUrlEnv: "COPILOT_PROVIDER_BASE_URL" });
    expect(api?.gateway?.headers("k")).toEqual({ authorization: "Bearer k" });
    expect(agentWith({ model: "m", provider: "anthropic" }).api!({})?.gateway?.headers("k")).toEqual({ "x-api-key": "k" });
  });
});
