import { z } from "zod";

/** Where pi sends requests when neither `baseUrl` nor OPENAI_BASE_URL says otherwise. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** Options of the `pi` agent plugin. */
export const piOptions = z
  .object({
    /** The pi executable; looked up on the sandbox's PATH. Default `pi`. */
    executable: z.string().min(1).default("pi"),
    /** The model's id at the API (`gpt-5`, `anthropic/claude-sonnet-4.5` on a router). Required: there is no default that stays right. */
    model: z.string({ error: "give the model, e.g. model: \"gpt-5\"" }).min(1),
    /**
     * The OpenAI-compatible Chat Completions base URL (…/v1) of the one provider corral configures.
     * Default: OPENAI_BASE_URL from the env, else https://api.openai.com/v1.
     */
    baseUrl: z.url().optional(),
    /** The env var holding the API key for `baseUrl`. Default OPENAI_API_KEY; treated as a secret. */
    envKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an env var name").default("OPENAI_API_KEY"),
    /** Thinking level (`--thinking`). */
    thinking: z.enum(["off", "minimal", "low", "medium", "high", "xhigh"]).optional(),
    /** The tools pi may use (`--tools`, e.g. `["read", "bash", "edit", "write"]`). Default: pi's (those four). */
    tools: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, "a tool name")).min(1).optional(),
    /** Appended to pi's system prompt (`--append-system-prompt`); goes through argv, so keep it under 128 KiB. */
    appendSystemPrompt: z.string().min(1).optional(),
    /** Extra arguments for `pi`, for flags this plugin does not model. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `pi` agent's options after validation, every default filled in. */
export type PiOptions = z.output<typeof piOptions>;
/** The `pi` agent's options as a user writes them (in `pi({...})` or corral.config.*): `model` is required, the rest optional. */
export type PiOptionsInput = z.input<typeof piOptions>;
