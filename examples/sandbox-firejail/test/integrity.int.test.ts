import { describeRepositoryIntegrity } from "@corral/core/testing";
import { worktree } from "@corral/worktree-git";
import { firejail } from "../src/index.js";

// firejail cannot show an in-place run its own git dir over .git (see src/args.ts), so it refuses those runs.
describeRepositoryIntegrity("firejail", () => firejail(), { worktree: (options) => worktree(options), inPlace: false });
