import type { Usage } from "@corral/core";
import { readPlainFile } from "@corral/core/plugin-kit";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { usageOf } from "./parser.js";

/** A rollout file codex names after its thread: `rollout-<time>-<thread id>.jsonl`. */
const ROLLOUT = /^rollout-.+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/;
/** Bounds on what is read of a kept session: it is agent-written data. */
const MAX_ROLLOUTS = 256;
const MAX_ROLLOUT_BYTES = 32 * 1024 * 1024;

/**
 * The last total each thread kept in the per-run HOME reported (the `token_count` events of its rollout
 * under `.codex/sessions/YYYY/MM/DD/`): a run that resumes a thread an earlier run kept starts from it, so
 * its first exec counts only its own tokens (codex reports a resumed thread's running total). Read before
 * the sandbox starts, as data: real folders and regular files only (never a link), bounded in count and
 * size; a thread whose rollout cannot be read is simply not known (its first resumed exec then counts the
 * thread's whole total, as before).
 */
export async function keptThreadTotals(home: string): Promise<Map<string, Usage>> {
  const totals = new Map<string, Usage>();
  const rollouts: Array<{ path: string; thread: string }> = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (rollouts.length >= MAX_ROLLOUTS) return;
      // A Dirent is the link itself: a symlinked folder or file is neither a directory nor a file here.
      if (entry.isDirectory() && depth < 3) await walk(join(dir, entry.name), depth + 1);
      const thread = entry.isFile() && depth === 3 ? ROLLOUT.exec(entry.name)?.[1] : undefined;
      if (thread) rollouts.push({ path: join(dir, entry.name), thread });
    }
  };
  await walk(join(home, ".codex", "sessions"), 0);
  for (const { path, thread } of rollouts) {
    const { text } = await readPlainFile(path, MAX_ROLLOUT_BYTES);
    const total = text === undefined ? undefined : lastTotal(text);
    if (total) totals.set(thread, total);
  }
  return totals;
}

/** The thread's total in the last `token_count` event of a rollout's text. */
function lastTotal(text: string): Usage | undefined {
  let found: Usage | undefined;
  for (const line of text.split("\n")) {
    if (!line.includes('"token_count"')) continue;
    try {
      const total = (JSON.parse(line) as { payload?: { type?: unknown; info?: { total_token_usage?: unknown } } }).payload;
      const usage = total?.type === "token_count" ? total.info?.total_token_usage : undefined;
      if (usage && typeof usage === "object") found = usageOf(usage as Record<string, unknown>);
    } catch {
      // Not JSON: not codex's, skipped.
    }
  }
  return found;
}
