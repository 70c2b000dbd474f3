import { describeIsolationConformance } from "@corral/core/testing";
import { worktreeIsolation } from "../src/index.js";

// A worktree and a branch per run, beside the checkout, which stays untouched.
describeIsolationConformance("worktree", () => worktreeIsolation.create(worktreeIsolation.configure({}).options), { separateWorkspaces: true, branchPerRun: true });
