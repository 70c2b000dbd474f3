import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingCredentialsError, PluginOptionsError } from "@corral/core";
import { afterEach, describe, expect, it } from "vitest";
import { pi, piAgent } from "./index.js";

const agentWith = (options: Parameters<typeof pi>[0]) => piAgent.create(pi(options).options);
const input = { prompt: "do it", iteration: 1, home: "/h", cwd: "/w" };

describe("pi command", () => {
  it("runs `pi --print --mode json` with corral's provider; the prompt goes to stdin", () => {
    const command = agentWith({ model: "gpt-5" }).command(input);
    expect(command.argv).toEqual(["pi", "--print", "--mode", "json", "--provider", "corral", "--model", "gpt-5"]);
    expect(command.stdin).toBe("do it");
  });

  it("maps thinking, tools and the appended system prompt, and resumes with --session", () => {
    const command = agentWith({ model: "m", thinking: "high", tools: ["read", "bash"], appendSystemPrompt: "Be brief.", executable: "/opt/pi", extraArgs: ["--no-skills"] }).command({
      ...input,
      resumeSessionId: "01a2-uuid",
    });
    expect(command.argv).toEqual([
      "/opt/pi", "--print", "--mode", "json", "--provider", "corral", "--model", "m",
      "--thinking", "high", "--tools", "read,bash", "--append-system-prompt", "Be brief.", "--session", "01a2-uuid", "--no-skills",
    ]);
  });

  it("keeps a prompt over 128 KiB out of argv", () => {
    const prompt = "y".repeat(300 * 1024);
    const command = agentWith({ model: "m" }).command({ ...input, prompt });
    expect(command.stdin).toBe(prompt);
    expect(Math.max(...command.argv.map((a) => a.length))).toBeLessThan(1024);
  });

  it("requires a model and rejects options that are not pi's", () => {
    expect(() => pi({} as never)).toThrow(/model/);
    expect(() => pi({ model: "m", permissionMode: "plan" } as never)).toThrow(PluginOptionsError);
    expect(() => pi({ model: "m", thinking: "max" } as never)).toThrow(/thinking/);
    expect(() => pi({ model: "m", tools: ["read,bash"] })).toThrow(/tools/);
    expect(() => pi({ model: "m", baseUrl: "not a url" })).toThrow(/baseUrl/);
  });
});

describe("pi setup", () => {
  let home: string | undefined;
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("throws MissingCredentialsError without the key, before writing anything", async () => {
    home = await mkdtemp(join(tmpdir(), "pi-setup-"));
    await expect(agentWith({ model: "m" }).setup!({ env: {}, home })).rejects.toThrow(MissingCredentialsError);
    await expect(stat(join(home, ".pi"))).rejects.toThrow();
    await expect(agentWith({ model: "m", envKey: "ROUTER_KEY" }).setup!({ env: { OPENAI_API_KEY: "x" }, home })).rejects.toThrow(/ROUTER_KEY/);
  });

  it("writes a 0600 models.json whose provider names the key's env var, and the env that keeps pi quiet", async () => {
    home = await mkdtemp(join(tmpdir(), "pi-setup-"));
    const env = await agentWith({ model: "gpt-5", baseUrl: "https://router.example/api/v1", envKey: "ROUTER_KEY" }).setup!({ env: { ROUTER_KEY: "sk-secret-value" }, home });
    const dir = join(home, ".pi", "agent");
    expect(env).toEqual({ PI_CODING_AGENT_DIR: dir, PI_OFFLINE: "1", PI_TELEMETRY: "0", PI_SKIP_VERSION_CHECK: "1" });
    const file = join(dir, "models.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, "utf8");
    expect(text).not.toContain("sk-secret-value");
    expect(JSON.parse(text)).toEqual({
      providers: { corral: { baseUrl: "https://router.example/api/v1", api: "openai-completions", apiKey: "ROUTER_KEY", models: [{ id: "gpt-5" }] } },
    });
  });

  it("points the provider at the credentials gateway when the run keeps the key on the host; a run's own quiet-env value wins", async () => {
    home = await mkdtemp(join(tmpdir(), "pi-setup-"));
    const env = await agentWith({ model: "m" }).setup!({ env: { OPENAI_API_KEY: "placeholder", PI_OFFLINE: "0" }, home, apiBaseUrl: "http://127.0.0.1:9/gw/openai" });
    expect(env).not.toHaveProperty("PI_OFFLINE");
    // pi's proxy agent would CONNECT-tunnel to the gateway, which corral's proxy refuses: the loopback gateway is direct.
    expect(env).toMatchObject({ NO_PROXY: "127.0.0.1", no_proxy: "127.0.0.1" });
    const models = JSON.parse(await readFile(join(home, ".pi", "agent", "models.json"), "utf8"));
    expect(models.providers.corral.baseUrl).toBe("http://127.0.0.1:9/gw/openai");
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
