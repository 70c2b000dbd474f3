import { z } from "zod";

/** Where Gemini CLI sends requests when neither `baseUrl` nor GOOGLE_GEMINI_BASE_URL says otherwise. */
export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com";

/** Options of the `gemini` agent plugin. */
export const geminiOptions = z
  .object({
    /** The Gemini CLI executable; looked up on the sandbox's PATH. Default `gemini`. */
    executable: z.string().min(1).default("gemini"),
    /** The model (`-m`, e.g. `gemini-2.5-pro`). Default: Gemini CLI's own choice. */
    model: z.string().min(1).optional(),
    /** The Gemini API base URL (GOOGLE_GEMINI_BASE_URL). Default: GOOGLE_GEMINI_BASE_URL from the env, else Google's. */
    baseUrl: z.url().optional(),
    /** The env var holding the Gemini API key. Default GEMINI_API_KEY; treated as a secret. */
    envKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an env var name").default("GEMINI_API_KEY"),
    /** Extra arguments for `gemini`, for flags this plugin does not model. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `gemini` agent's options after validation, every default filled in. */
export type GeminiOptions = z.output<typeof geminiOptions>;
/** The `gemini` agent's options as a user writes them (in `gemini({...})` or corral.config.*). */
export type GeminiOptionsInput = z.input<typeof geminiOptions>;
