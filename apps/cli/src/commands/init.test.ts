import { describe, expect, it } from "vitest";
import { projectImageTag } from "./init.js";

describe("projectImageTag", () => {
  it("init's per-project tag comes from the repository folder", () => {
    expect(projectImageTag("/home/me/My Project")).toBe("corral-my-project:latest");
    expect(projectImageTag("/")).toBe("corral-repo:latest");
  });
});
