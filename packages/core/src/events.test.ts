import { describe, expect, it } from "vitest";
import { agentEventsOf, joinedOutputOf, setLazyOutput, type RunEvent } from "./events.js";

describe("an agent.output event made of a block (ADR 0740)", () => {
  const lazy = (text: string) => {
    const event = { runId: "r", time: "t", type: "agent.output", iteration: 1, kind: "text", stream: "stdout" } as RunEvent;
    setLazyOutput(event, text);
    return event as Extract<RunEvent, { type: "agent.output" }>;
  };

  it("reads, serialises, spreads and compares as the event with its lines as an array, the exact bytes kept", () => {
    const text = "a\n\nhé ✓\n";
    const eager = { runId: "r", time: "t", type: "agent.output", iteration: 1, kind: "text", stream: "stdout", lines: ["a", "", "hé ✓", ""] };
    const event = lazy(text);
    expect(joinedOutputOf(event)).toBe(text);
    expect(JSON.stringify(event)).toBe(JSON.stringify(eager));
    expect({ ...event }).toEqual(eager);
    expect(event).toEqual(eager);
    expect(event.lines).toBe(event.lines); // made once
    expect(agentEventsOf(event).map((a) => (a.type === "text" ? a.text : ""))).toEqual(eager.lines);
  });

  it("keeps no text once its lines are replaced; twin: untouched, the text stays", () => {
    const event = lazy("x\ny");
    expect(joinedOutputOf(event)).toBe("x\ny");
    event.lines = ["other"];
    expect(event.lines).toEqual(["other"]);
    expect(joinedOutputOf(event)).toBeUndefined();
  });
});
