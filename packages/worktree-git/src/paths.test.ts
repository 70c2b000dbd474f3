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
  it("always excludes .corral/, and a base folder inside the repo that is elsewhere", () => {
    expect(excludePatterns(repo, "/r/.corral/worktrees")).toEqual(["/.corral/"]);
    expect(excludePatterns(repo, "/r/build/trees")).toEqual(["/.corral/", "/build/trees/"]);
    expect(excludePatterns(repo, "/elsewhere/trees")).toEqual(["/.corral/"]);
  });
});
