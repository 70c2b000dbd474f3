import { describeCopiedWorkspace } from "@corral/core/testing";
import { worktree } from "@corral/worktree-git";
import { bwrap } from "../src/index.js";

// A copied workspace in bwrap: the copy lives in the sandbox's own /tmp, nothing of the repository is mounted.
describeCopiedWorkspace("bwrap", () => bwrap(), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
describeCopiedWorkspace("bwrap (host-readonly)", () => bwrap({ readPolicy: "host-readonly" }), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
