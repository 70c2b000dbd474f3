import { PluginOptionsError } from "@corral/core";
import { describe, expect, it } from "vitest";
import { worktree, worktreeIsolation } from "./plugin.js";

describe("worktree options", () => {
  it("fills the defaults", () => {
    expect(worktree().options).toMatchObject({
      baseDir: ".corral/worktrees",
      base: "HEAD",
      branchPrefix: "corral/",
      detach: false,
      deleteBranch: false,
      uncommitted: "keep",
      mergeBack: "none",
      reuse: false,
    });
  });

  it("names the plugin and the bad field", () => {
    expect(() => worktreeIsolation.configure({ mergeBack: "octopus" })).toThrow(PluginOptionsError);
    expect(() => worktreeIsolation.configure({ mergeBack: "octopus" })).toThrow(/worktree.*mergeBack/);
    expect(() => worktreeIsolation.configure({ basedir: "x" })).toThrow(/Unrecognized key|basedir/);
    expect(() => worktreeIsolation.configure({ detach: true, branch: "x" })).toThrow(/detach/);
  });

  it("is a worktree isolation plugin", () => {
    expect(worktreeIsolation.kind).toBe("isolation");
    expect(worktreeIsolation.meta.name).toBe("worktree");
    expect(worktreeIsolation.meta.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(worktreeIsolation.create(worktree().options).requiresGit).toBe(true);
  });
});
