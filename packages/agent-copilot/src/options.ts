import { z } from "zod";

/** Where Copilot CLI sends requests when neither `baseUrl` nor COPILOT_PROVIDER_BASE_URL / OPENAI_BASE_URL says otherwise. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** The env var Copilot CLI reads its bring-your-own-key API key from. */
export const KEY_ENV = "COPILOT_PROVIDER_API_KEY";

/** Options of the `copilot` agent plugin. */
export const copilotOptions = z
  .object({
    /** The Copilot CLI executable; looked up on the sandbox's PATH. Default `copilot`. */
    executable: z.string().min(1).default("copilot"),
    /** The model's name at the API (`--model`, and COPILOT_MODEL). Required: a BYOK provider has no default model. */
    model: z.string({ error: "give the model, e.g. model: \"gpt-5\"" }).min(1),
    /**
     * The provider's base URL (COPILOT_PROVIDER_BASE_URL; for `openai`, the …/v1 that `chat/completions` hangs off).
     * Default: COPILOT_PROVIDER_BASE_URL from the env, else OPENAI_BASE_URL, else https://api.openai.com/v1.
     */
    baseUrl: z.url().optional(),
    /** The provider's API (COPILOT_PROVIDER_TYPE). Default `openai` (any OpenAI-compatible endpoint). */
    provider: z.enum(["openai", "azure", "anthropic"]).default("openai"),
    /** For `openai`: chat completions (default) or the Responses API (COPILOT_PROVIDER_WIRE_API). */
    wireApi: z.enum(["completions", "responses"]).default("completions"),
    /** `--reasoning-effort`. */
    reasoningEffort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).optional(),
    /** A custom agent (`--agent`). */
    agent: z.string().min(1).optional(),
    /**
     * `all` (default): `--allow-all` (every tool, path and URL without a prompt: the sandbox is the
     * boundary). `tools`: `--allow-all-tools` only, so Copilot still checks paths outside the workspace
     * and URLs, and refuses them in an unattended run. Non-interactive mode needs one of the two.
     */
    permissions: z.enum(["all", "tools"]).default("all"),
    /** Extra arguments for `copilot`, for flags this plugin does not model. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `copilot` agent's options after validation, every default filled in. */
export type CopilotOptions = z.output<typeof copilotOptions>;
/** The `copilot` agent's options as a user writes them: `model` is required, the rest optional. */
export type CopilotOptionsInput = z.input<typeof copilotOptions>;
