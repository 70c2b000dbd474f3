import { PassThrough } from "node:stream";
import { emptyUsage, type RunEvent } from "@corral/core";
import { describe, expect, it } from "vitest";
import { boardDisplay } from "./board.js";

const at = (name: string, body: Record<string, unknown>) => ({ runId: `r-${name}`, name, time: new Date().toISOString(), ...body }) as RunEvent;

/** What a terminal shows after the board's writes: cursor-up-N-lines, erase-line and erase-below obeyed. */
function screen(raw: string): string[] {
  const lines: string[] = [];
  let row = 0;
  for (const part of raw.split(/(\x1b\[\d*F|\x1b\[2K|\x1b\[J|\n)/)) {
    if (!part) continue;
    const up = /^\x1b\[(\d*)F$/.exec(part);
    if (up) row = Math.max(0, row - Number(up[1] || 1));
    else if (part === "\x1b[J") lines.length = row;
    else if (part === "\x1b[2K") lines[row] = "";
    else if (part === "\n") row++;
    else lines[row] = (lines[row] ?? "") + part;
  }
  return lines.filter((l) => l !== undefined);
}

describe("board display", () => {
  it("after Ctrl-C: the notice above the board, then rows settled by the fleet's end — none left running or queued", async () => {
    const stream = new PassThrough();
    let raw = "";
    stream.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    const board = boardDisplay({ stream, tasks: ["a", "b"], color: false });
    board.onEvent(at("a", { type: "run.started", agent: "command", sandbox: "host", isolation: "in-place", maxIterations: 1, cwd: "/" }));
    board.onEvent(at("a", { type: "agent", iteration: 1, event: { type: "retry", attempt: 2, maxRetries: 10, message: "API error 500 (server_error)" } }));
    board.close?.(); // draws now
    expect(screen(raw).find((l) => l.startsWith("a "))).toMatch(/running .*retrying \(2\/10\): API error 500/);
    board.interrupted("\ncorral: SIGINT received, stopping the agent and cleaning up…\n");
    board.onEvent(at("a", { type: "run.finished", status: "aborted", iterations: 1, usage: emptyUsage(), durationMs: 5, commits: [], error: { code: "E_ABORTED", message: "The run was aborted\n--- last output ---\nx" } }));
    board.onEvent(at("b", { type: "task.skipped", status: "aborted", reason: "the fleet was interrupted before it started" }));
    board.onEvent({ runId: "fleet", time: "", type: "fleet.finished", succeeded: 0, durationMs: 9, interrupted: true, tasks: [{ name: "a", status: "aborted", durationMs: 5 }, { name: "b", status: "aborted", durationMs: 0 }] } as RunEvent);
    board.close?.();
    const shown = screen(raw);
    expect(shown[0]).toBe("corral: SIGINT received, stopping the agent and cleaning up…");
    expect(shown).toHaveLength(3); // the notice and one row per task, nothing stale
    expect(shown[1]).toMatch(/^a\s+aborted\s.*E_ABORTED: The run was aborted$/);
    expect(shown[2]).toMatch(/^b\s+aborted\s.*the fleet was interrupted before it started$/);
    expect(raw).not.toContain("{\"type\"");
  });
});
