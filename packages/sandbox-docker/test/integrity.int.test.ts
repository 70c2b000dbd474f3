import { resolve } from "node:path";
import { describeRepositoryIntegrity } from "@corral/core/testing";
import { CONTAINER_TEST_IMAGE } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { docker } from "../src/index.js";

// Off /tmp, which is the container's own tmpfs: the repositories are bind-mounted from the host.
process.env.TMPDIR = resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp");

describeRepositoryIntegrity("docker", () => docker({ image: CONTAINER_TEST_IMAGE }), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
