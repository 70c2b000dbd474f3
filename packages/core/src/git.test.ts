import { describe, expect, it } from "vitest";
import { gitMessage } from "./git.js";

describe("gitMessage", () => {
  it("drops git's fatal/error prefixes and keeps three lines", () => {
    expect(gitMessage("fatal: bad object HEAD\nerror: one\ntwo\nthree\n")).toBe("bad object HEAD; one; two");
  });

  it("falls back from stderr to stdout to the exit code", () => {
    expect(gitMessage({ stdout: "CONFLICT in a.txt\n", stderr: "  ", exitCode: 1 })).toBe("CONFLICT in a.txt");
    expect(gitMessage({ stdout: "", stderr: "", exitCode: 128 })).toBe("git exited with 128");
  });
});
