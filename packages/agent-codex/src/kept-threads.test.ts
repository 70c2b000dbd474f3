import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { keptThreadTotals } from "./kept-threads.js";

const THREAD = "01a23799-1508-7430-897d-2e3219e8b1cc";
const OTHER = "01a23799-1508-7430-897d-2e3219e8b1cd";
const tokenCount = (input: number, cached: number, output: number) =>
  JSON.stringify({ type: "event_msg", payload: { type: "token_count", info: { total_token_usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output } } } });

describe("keptThreadTotals: where a resumed codex thread's first exec starts counting", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const home = async () => {
    const dir = await mkdtemp(join(tmpdir(), "codex-kept-"));
    dirs.push(dir);
    const day = join(dir, ".codex/sessions/2026/12/02");
    await mkdir(day, { recursive: true });
    return { dir, day };
  };

  it("takes each thread's last token_count total from its rollout; lines that are not JSON are skipped", async () => {
    const { dir, day } = await home();
    await writeFile(join(day, `rollout-2026-12-02T16-31-49-${THREAD}.jsonl`), [tokenCount(110, 10, 20), "not json \"token_count\"", tokenCount(220, 30, 41), '{"type":"event_msg"}'].join("\n"));
    const totals = await keptThreadTotals(dir);
    expect(Object.fromEntries(totals)).toEqual({ [THREAD]: { inputTokens: 190, outputTokens: 41, cacheReadTokens: 30, cacheWriteTokens: 0 } });
  });

  it("attack: a rollout that is a symlink (to a host file) or sits in a symlinked folder is not read; twin: a real one beside it is", async () => {
    const { dir, day } = await home();
    const outside = await mkdtemp(join(tmpdir(), "codex-outside-"));
    dirs.push(outside);
    await writeFile(join(outside, "host.jsonl"), tokenCount(999, 0, 999));
    await symlink(join(outside, "host.jsonl"), join(day, `rollout-2026-12-02T16-31-49-${OTHER}.jsonl`));
    await mkdir(join(outside, "03"));
    await writeFile(join(outside, "03", `rollout-2026-12-03T00-00-00-${OTHER}.jsonl`), tokenCount(999, 0, 999));
    await symlink(join(outside, "03"), join(dir, ".codex/sessions/2026/12/03"));
    await writeFile(join(day, `rollout-2026-12-02T16-31-49-${THREAD}.jsonl`), tokenCount(110, 10, 20));
    const totals = await keptThreadTotals(dir);
    expect([...totals.keys()]).toEqual([THREAD]);
  });

  it("a HOME without kept sessions knows no thread", async () => {
    const dir = await mkdtemp(join(tmpdir(), "codex-kept-"));
    dirs.push(dir);
    expect((await keptThreadTotals(dir)).size).toBe(0);
  });
});
