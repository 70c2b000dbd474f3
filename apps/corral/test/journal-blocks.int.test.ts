import { readdirSync } from "node:fs";
import { join } from "node:path";
import { commandAgent, hostSandbox, inPlaceIsolation, joinedOutputOf, type RunEvent } from "@corral/core";
import { tempRepo } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { readEvents, run } from "../src/index.js";

describe("the journal and output delivered in blocks (ADR 0720)", () => {
  it("writes the events a run made from blocks exactly as onEvent got them, using the text the lines were split from; twin: a redacted line is joined anew", async () => {
    const repo = await tempRepo();
    const secret = "sk-journal-blocks-secret-0123456789";
    const events: RunEvent[] = [];
    // Short lines in big reads, a line with the secret among them, raw stderr, and the signal.
    const script = `yes | head -c 300000; echo "key $SECRET here"; yes | head -c 1000; echo "oops" >&2; sleep 0.2; echo '<promise>COMPLETE</promise>'`;
    await run({
      agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
      sandbox: hostSandbox.configure({}),
      isolation: inPlaceIsolation.configure({}),
      config: false,
      cwd: repo,
      prompt: "print",
      handleProcessSignals: false,
      env: { SECRET: secret },
      secretEnv: ["SECRET"],
      onEvent: (e) => events.push(e),
    });
    const output = events.filter((e) => e.type === "agent.output");
    const joined = output.filter((e) => joinedOutputOf(e) !== undefined);
    expect(joined.length).toBeGreaterThan(0);
    for (const e of joined) expect(joinedOutputOf(e)).toBe((e as { lines: string[] }).lines.join("\n"));
    // The batch with the secret was redacted: its lines changed, so it carries no joined text.
    const redacted = output.find((e) => e.type === "agent.output" && e.lines.some((l) => l.startsWith("key ")));
    expect(redacted && redacted.type === "agent.output" && redacted.lines.find((l) => l.startsWith("key "))).toBe("key *** here");
    expect(joinedOutputOf(redacted!)).toBeUndefined();

    const runs = join(repo, ".corral", "runs");
    const id = readdirSync(runs).sort().at(-1)!;
    const read = await readEvents({ dir: join(runs, id) });
    expect(read.filter((e) => e.type === "agent.output")).toEqual(output);
    expect(JSON.stringify(read)).not.toContain(secret);
  });
});
