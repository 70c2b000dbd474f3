import { runHook, type HookSpec } from "../hooks.js";
import { toCorralError } from "../errors.js";
import type { RunEvent, RunEventBody } from "../events.js";
import { totalTokens } from "../usage.js";
import { definedEnv } from "./env.js";

type RunFinished = Extract<RunEvent, { type: "run.finished" }>;

/**
 * The `onRunFinished` hooks: each gets the run's `run.finished` event (already redacted) as JSON on
 * stdin and its main facts as `CORRAL_RUN_*` env, on the host, in the folder the run started from.
 * They run with their own signal, so an aborted run still says it ended; a failing one is a warning.
 */
export async function notifyRunFinished(
  specs: HookSpec[],
  finished: RunFinished,
  where: { cwd: string; hostEnv: Record<string, string | undefined>; emit: (body: RunEventBody) => void },
): Promise<void> {
  if (!specs.length) return;
  const env = { ...definedEnv(where.hostEnv), ...finishedEnv(finished) };
  const stdin = `${JSON.stringify(finished)}\n`;
  for (const spec of specs) {
    try {
      await runHook("onRunFinished", { ...spec, continueOnError: false }, { cwd: where.cwd, env, stdin, signal: new AbortController().signal }, () => {});
    } catch (error) {
      where.emit({ type: "log", level: "warn", message: `${toCorralError(error).message} The run's result stands.` });
    }
  }
}

/** What a one-line notifier needs without parsing JSON; nothing the agent wrote (commit subjects stay in the JSON). */
function finishedEnv(finished: RunFinished): Record<string, string> {
  return {
    CORRAL_RUN_ID: finished.runId,
    CORRAL_RUN_NAME: finished.name ?? finished.runId,
    CORRAL_RUN_STATUS: finished.status,
    CORRAL_RUN_ITERATIONS: String(finished.iterations),
    CORRAL_RUN_COMMITS: String(finished.commits?.length ?? 0),
    CORRAL_RUN_TOKENS: String(totalTokens(finished.usage)),
    CORRAL_RUN_DURATION_MS: String(finished.durationMs),
    ...(finished.branch ? { CORRAL_RUN_BRANCH: finished.branch } : {}),
    ...(finished.usage.costUsd !== undefined ? { CORRAL_RUN_COST_USD: finished.usage.costUsd.toFixed(4) } : {}),
    ...(finished.error ? { CORRAL_RUN_ERROR_CODE: finished.error.code } : {}),
    ...(finished.stoppedBy ? { CORRAL_RUN_STOPPED_BY: finished.stoppedBy.budget } : {}),
  };
}
