import { describeRepositoryIntegrity } from "@corral/core/testing";
import { worktree } from "@corral/worktree-git";
import { bwrap } from "../src/index.js";

// Every repository-integrity attack, in-place and on a worktree, with bwrap's default read policy and the whole-host one.
describeRepositoryIntegrity("bwrap", () => bwrap(), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
describeRepositoryIntegrity("bwrap (host-readonly)", () => bwrap({ readPolicy: "host-readonly" }), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
