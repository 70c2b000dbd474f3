import { z } from "zod";
import type { Agent, AgentEvent } from "../agent.js";
import { defineAgent } from "../plugin.js";
import { CORE_VERSION } from "../version.js";
import { passThrough } from "../run/pass-through.js";

const PLACEHOLDER = "{prompt}";

const commandOptions = z
  .object({
    /** The command to run as the agent. `{prompt}` in any argument is replaced by the prompt; without it the prompt goes to stdin. */
    argv: z.array(z.string()).min(1, "give the command to run, e.g. argv: [\"my-agent\", \"--print\", \"{prompt}\"]"),
    /** Env var names to take from the host env and treat as secrets (credentials). */
    credentials: z.array(z.string()).default([]),
  })
  .strict();

/**
 * The `command` agent: any CLI as the agent. Each stdout line is agent text; stderr lines are
 * passed through as raw output. How people drive agents that have no plugin yet.
 */
export const commandAgent = defineAgent({
  name: "command",
  version: CORE_VERSION,
  packageName: "@corral/core",
  description: "Any CLI as the agent ({prompt} placeholder or stdin)",
  options: commandOptions,
  create: (options): Agent => ({
    name: "command",
    env: { credentials: options.credentials },
    ...(options.argv[0]!.includes(PLACEHOLDER) ? {} : { executable: { name: options.argv[0]!, option: "argv" } }),
    command({ prompt }) {
      const usesPlaceholder = options.argv.some((arg) => arg.includes(PLACEHOLDER));
      if (!usesPlaceholder) return { argv: [...options.argv], stdin: prompt };
      return { argv: options.argv.map((arg) => arg.split(PLACEHOLDER).join(prompt)) };
    },
    // Every line one event: the run loop takes the lines as they are (the same events, ADR 0712).
    parser: () =>
      passThrough(
        { parse: (line, stream): AgentEvent[] => (stream === "stdout" ? [{ type: "text", text: line }] : [{ type: "raw", line, stream }]) },
        { stdout: "text", stderr: "raw" },
      ),
  }),
});
