import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingCredentialsError, PluginOptionsError } from "@corral/core";
import { afterEach, describe, expect, it } from "vitest";
import { opencode, opencodeAgent } from "./index.js";

const agentWith = (options: Parameters<typeof opencode>[0]) => opencodeAgent.create(opencode(options).options);
const input = { prompt: "do it", iteration: 1, home: "/h", cwd: "/w" };

describe("opencode command", () => {
  it("runs `opencode run --format json` with corral's provider, a title (no title request) and --auto; the prompt goes to stdin", () => {
    const command = agentWith({ model: "gpt-5" }).command(input);
    expect(command.argv).toEqual(["opencode", "run", "--format", "json", "--model", "corral/gpt-5", "--title", "corral iteration 1", "--auto"]);
    expect(command.stdin).toBe("do it");
  });

  it("maps agent and variant, leaves --auto out when asked, and resumes with --session", () => {
    const command = agentWith({ model: "m", agent: "plan", variant: "high", autoApprove: false, executable: "/opt/opencode", extraArgs: ["--print-logs"] }).command({
      ...input,
      iteration: 2,
      resumeSessionId: "ses_1",
    });
    expect(command.argv).toEqual([
      "/opt/opencode", "run", "--format", "json", "--model", "corral/m", "--title", "corral iteration 2",
      "--agent", "plan", "--variant", "high", "--session", "ses_1", "--print-logs",
    ]);
  });

  it("keeps a prompt over 128 KiB out of argv", () => {
    const prompt = "y".repeat(300 * 1024);
    const command = agentWith({ model: "m" }).command({ ...input, prompt });
    expect(command.stdin).toBe(prompt);
    expect(Math.max(...command.argv.map((a) => a.length))).toBeLessThan(1024);
  });

  it("requires a model and rejects options that are not opencode's", () => {
    expect(() => opencode({} as never)).toThrow(/model/);
    expect(() => opencode({ model: "m", permissionMode: "plan" } as never)).toThrow(PluginOptionsError);
    expect(() => opencode({ model: "m", baseUrl: "not a url" })).toThrow(/baseUrl/);
    expect(() => opencode({ model: "m", envKey: "not-a-name" })).toThrow(/envKey/);
  });
});

describe("opencode setup", () => {
  let home: string | undefined;
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("throws MissingCredentialsError without the key, before writing anything", async () => {
    home = await mkdtemp(join(tmpdir(), "opencode-setup-"));
    await expect(agentWith({ model: "m" }).setup!({ env: {}, home })).rejects.toThrow(MissingCredentialsError);
    await expect(stat(join(home, ".config"))).rejects.toThrow();
    await expect(agentWith({ model: "m", envKey: "ROUTER_KEY" }).setup!({ env: { OPENAI_API_KEY: "x" }, home })).rejects.toThrow(/ROUTER_KEY/);
  });

  it("writes a 0600 config with one provider that reads its key from the env, and the env that keeps OpenCode quiet", async () => {
    home = await mkdtemp(join(tmpdir(), "opencode-setup-"));
    const env = await agentWith({ model: "gpt-5", baseUrl: "https://router.example/api/v1", envKey: "ROUTER_KEY" }).setup!({ env: { ROUTER_KEY: "sk-secret-value" }, home });
    const file = join(home, ".config", "opencode", "corral.json");
    expect(env).toEqual({
      OPENCODE_CONFIG: file,
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      OPENCODE_PURE: "1",
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, "utf8");
    expect(text).not.toContain("sk-secret-value");
    expect(JSON.parse(text)).toMatchObject({
      provider: { corral: { npm: "@ai-sdk/openai-compatible", options: { baseURL: "https://router.example/api/v1", apiKey: "{env:ROUTER_KEY}" }, models: { "gpt-5": {} } } },
      model: "corral/gpt-5",
      small_model: "corral/gpt-5",
      autoupdate: false,
      share: "disabled",
    });
  });

  it("points the provider at the credentials gateway when the run keeps the key on the host; a run's own value of a quiet-env var wins", async () => {
    home = await mkdtemp(join(tmpdir(), "opencode-setup-"));
    const env = await agentWith({ model: "m" }).setup!({ env: { OPENAI_API_KEY: "placeholder", OPENCODE_PURE: "0" }, home, apiBaseUrl: "http://127.0.0.1:9/gw/openai" });
    expect(env).not.toHaveProperty("OPENCODE_PURE");
    const config = JSON.parse(await readFile(join(home, ".config", "opencode", "corral.json"), "utf8"));
    expect(config.provider.corral.options.baseURL).toBe("http://127.0.0.1:9/gw/openai");
  });

  it("declares the key as a credential and its API host for the allowlist and the gateway", () => {
    const agent = agentWith({ model: "m", envKey: "ROUTER_KEY" });
    expect(agent.env).toEqual({ credentials: ["ROUTER_KEY"], passthrough: ["OPENAI_BASE_URL"] });
    const api = agent.api!({ OPENAI_BASE_URL: "https://llm.internal:8443/v1" });
    expect(api?.hosts).toEqual(["llm.internal:8443"]);
    expect(api?.gateway).toMatchObject({ upstream: "https://llm.internal:8443/v1", keyEnv: "ROUTER_KEY" });
    expect(api?.gateway?.headers("k")).toEqual({ authorization: "Bearer k" });
  });
});
