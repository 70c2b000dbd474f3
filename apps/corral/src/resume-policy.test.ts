import { describe, expect, it } from "vitest";
import { recordedSafety, within } from "./resume-policy.js";

describe("within: one network policy lets through no more than another", () => {
  it("none is within everything, everything within host; an allowlist within another by its rules", () => {
    expect(within("none", { allow: [] })).toBe(true);
    expect(within({ allow: ["a.example"] }, "host")).toBe(true);
    expect(within("host", { allow: ["a.example"] })).toBe(false);
    expect(within({ allow: ["a.example"] }, "none")).toBe(false);
    expect(within({ allow: ["a.example"] }, { allow: ["a.example", "b.example"] })).toBe(true);
    expect(within({ allow: ["c.example"] }, { allow: ["a.example"] })).toBe(false);
  });

  it("attack: a deny the outer policy has dropped, or a pinned address it lacks, is wider", () => {
    expect(within({ allow: ["*.example"] }, { allow: ["*.example"], deny: ["x.example"] })).toBe(false);
    expect(within({ allow: ["*.example"], deny: ["x.example"] }, { allow: ["*.example"], deny: ["x.example"] })).toBe(true);
    expect(within({ allow: ["api.example"], hosts: { "api.example": "127.0.0.1" } }, { allow: ["api.example"] })).toBe(false);
    expect(within({ allow: ["api.example"], hosts: { "api.example": "10.0.0.5" } }, { allow: ["api.example"], hosts: { "api.example": "10.0.0.5" } })).toBe(true);
  });
});

describe("recordedSafety: what a resumed run keeps of the first run's settings", () => {
  it("keeps a narrower network, the gateway, a copied workspace and lower limits; the caller's flags win", () => {
    const recorded = { network: "none", credentials: "gateway", workspace: "copy", limits: { pids: 100, memoryMb: 4096 } };
    expect(recordedSafety(recorded, { limits: { memoryMb: 2048 } }, {})).toEqual({
      options: { network: "none", credentials: "gateway", workspace: "copy", limits: { pids: 100 } },
      warnings: [],
    });
    expect(recordedSafety(recorded, {}, { network: "host", credentials: "env", workspace: "mount", limits: { pids: 500 } }).options).toEqual({ limits: { pids: 500, memoryMb: 4096 } });
  });

  it("attack: a wider or malformed network from the journal is not taken, and the warning shows it inert", () => {
    const wider = recordedSafety({ network: { allow: ["evil.example\u001b[2J"] } }, { network: { allow: ["good.example"] } }, {});
    expect(wider.options).toEqual({});
    expect(wider.warnings.join("\n")).not.toContain("\u001b");
    expect(wider.warnings.join("\n")).toContain("evil.example");
    expect(recordedSafety({ network: { allow: [1] } }, {}, {}).options).toEqual({});
    expect(recordedSafety({ limits: { pids: -1, cpuPercent: "50" } }, {}, {}).options).toEqual({});
  });
});
