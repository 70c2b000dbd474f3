import { describe, expect, it } from "vitest";
import { excludePatterns } from "./paths.js";
import { inside } from "./repo.js";

const repo = { root: "/r", commonDir: "/r/.git", checkout: "/r" };

describe("inside", () => {
  it.each([
    ["/r", "/r", ""],
    ["/r", "/r/a/b", "a/b"],
    ["/r", "/r/..a", "..a"],
    ["/r", "/ra", undefined],
    ["/r", "/", undefined],
    ["/r", "/r/../etc", undefined],
  ])("%s contains %s: %j", (root, path, expected) => {
    expect(inside(root, path)).toBe(expected);
  });
});

describe("excludePatterns", () => {
  it("excludes the base folder when it is inside the repo, never the rest of .corral/", () => {
    expect(excludePatterns(repo, "/r/.corral/worktrees")).toEqual(["/.corral/worktrees/"]);
    expect(excludePatterns(repo, "/r/build/trees")).toEqual(["/build/trees/"]);
    expect(excludePatterns(repo, "/elsewhere/trees")).toEqual([]);
  });
});
