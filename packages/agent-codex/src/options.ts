import { z } from "zod";

/** Where codex sends requests when neither `baseUrl` nor OPENAI_BASE_URL says otherwise. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** Options of the `codex` agent plugin. */
export const codexOptions = z
  .object({
    /** The Codex CLI executable; looked up on the sandbox's PATH. Default `codex`. */
    executable: z.string().min(1).default("codex"),
    /** The model (`-m`). Required: there is no default that stays right. */
    model: z.string({ error: "give the model, e.g. model: \"gpt-5-codex\"" }).min(1),
    /** Reasoning effort (`-c model_reasoning_effort=…`). */
    effort: z.enum(["minimal", "low", "medium", "high", "xhigh"]).optional(),
    /** The Responses API base URL. Default: OPENAI_BASE_URL from the env, else https://api.openai.com/v1. */
    baseUrl: z.url().optional(),
    /** The env var holding the API key for `baseUrl`. Default OPENAI_API_KEY; treated as a secret. */
    envKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an env var name").default("OPENAI_API_KEY"),
    /** How often codex retries a failed request or dropped stream. Default: codex's own (a few). */
    maxRetries: z.number().int().min(0).max(20).optional(),
    /** Extra arguments for `codex exec`, for flags this plugin does not model. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `codex` agent's options after validation, every default filled in. */
export type CodexOptions = z.output<typeof codexOptions>;
/** The `codex` agent's options as a user writes them (in `codex({...})` or corral.config.*): `model` is required, the rest optional. */
export type CodexOptionsInput = z.input<typeof codexOptions>;
