import { resolve } from "node:path";
import { describeCopiedWorkspace } from "@corral/core/testing";
import { CONTAINER_TEST_IMAGE } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { docker } from "../src/index.js";

// Off /tmp, which is the container's own tmpfs (the per-run HOME is bind-mounted from the host).
process.env.TMPDIR = resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp");

// A copied workspace in a docker container: the copy lives in the container's own /tmp (a tmpfs), nothing of the repository is mounted.
describeCopiedWorkspace("docker", () => docker({ image: CONTAINER_TEST_IMAGE }), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
