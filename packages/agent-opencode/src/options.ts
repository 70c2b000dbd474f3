import { z } from "zod";

/** Where OpenCode sends requests when neither `baseUrl` nor OPENAI_BASE_URL says otherwise. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** Options of the `opencode` agent plugin. */
export const opencodeOptions = z
  .object({
    /** The OpenCode executable; looked up on the sandbox's PATH. Default `opencode`. */
    executable: z.string().min(1).default("opencode"),
    /** The model's name at the API (`gpt-5`, `anthropic/claude-sonnet-4.5` on a router). Required: there is no default that stays right. */
    model: z.string({ error: "give the model, e.g. model: \"gpt-5\"" }).min(1),
    /**
     * The OpenAI-compatible Chat Completions base URL (…/v1) of the one provider corral configures.
     * Default: OPENAI_BASE_URL from the env, else https://api.openai.com/v1.
     */
    baseUrl: z.url().optional(),
    /** The env var holding the API key for `baseUrl`. Default OPENAI_API_KEY; treated as a secret. */
    envKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an env var name").default("OPENAI_API_KEY"),
    /** The OpenCode agent (`--agent`, e.g. `build` or one of the project's). Default: OpenCode's own (`build`). */
    agent: z.string().min(1).optional(),
    /** Provider-specific reasoning effort (`--variant`, e.g. `high`, `minimal`). */
    variant: z.string().min(1).optional(),
    /**
     * Approve every permission the config does not deny (`--auto`). Default true: the sandbox is the
     * boundary, and an unattended run cannot answer a permission prompt.
     */
    autoApprove: z.boolean().default(true),
    /** Extra arguments for `opencode run`, for flags this plugin does not model. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `opencode` agent's options after validation, every default filled in. */
export type OpencodeOptions = z.output<typeof opencodeOptions>;
/** The `opencode` agent's options as a user writes them (in `opencode({...})` or corral.config.*): `model` is required, the rest optional. */
export type OpencodeOptionsInput = z.input<typeof opencodeOptions>;
