import { z } from "zod";

/** The model used when none is given: the alias Claude Code resolves to its current Sonnet. */
export const DEFAULT_MODEL = "sonnet";

/** Options of the `claude` agent plugin. */
export const claudeOptions = z
  .object({
    /** The Claude Code executable; looked up on the sandbox's PATH. Default `claude`. */
    executable: z.string().min(1).default("claude"),
    /** A model alias (`sonnet`, `opus`) or a full model name. Default `sonnet`. */
    model: z.string().min(1).default(DEFAULT_MODEL),
    /**
     * Claude Code's permission mode. Default `bypassPermissions` (`--dangerously-skip-permissions`):
     * the sandbox is the boundary, and an unattended run cannot answer prompts.
     */
    permissionMode: z.enum(["bypassPermissions", "acceptEdits", "auto", "default", "dontAsk", "plan"]).default("bypassPermissions"),
    /** Most agentic turns per iteration (`--max-turns`). */
    maxTurns: z.number().int().positive().optional(),
    /** Appended to Claude Code's system prompt (`--append-system-prompt`); goes through argv, so keep it under 128 KiB. */
    appendSystemPrompt: z.string().min(1).optional(),
    /**
     * How often Claude Code retries a failed API request (`CLAUDE_CODE_MAX_RETRIES`; its own default
     * is 10, with growing waits). Lower it so an agent stuck on an API error gives up sooner.
     */
    maxRetries: z.number().int().min(0).max(20).optional(),
    /** Reasoning effort (`--effort`). */
    effort: z.enum(["low", "medium", "high", "xhigh", "max"]).optional(),
    /** Extra arguments appended to every command, for flags this plugin does not model. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `claude` agent's options after validation, every default filled in. */
export type ClaudeOptions = z.output<typeof claudeOptions>;
/** The `claude` agent's options as a user writes them (in `claude({...})` or corral.config.*): every key optional. */
export type ClaudeOptionsInput = z.input<typeof claudeOptions>;
