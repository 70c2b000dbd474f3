/**
 * @corral/agent-e2e — corral's own agent packages run the agent end-to-end kit of
 * `@corral/core/testing` through this: the kit wired to `@corral/mock-model-api`, the sandboxes of
 * this repository (bwrap, docker, podman) and the built `corral` command. A third party calls
 * `describeAgentEndToEnd` itself, with its own mock and sandboxes (docs/plugins.md).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Mount } from "@corral/core";
import { describeAgentEndToEnd, type AgentEndToEndOptions, type EndToEndApi, type EndToEndSandbox } from "@corral/core/testing";
import { startMockModelApi } from "@corral/mock-model-api";
import { bwrap, bwrapSandbox } from "@corral/sandbox-bwrap";
import { docker } from "@corral/sandbox-docker";
import { podman } from "@corral/sandbox-podman";
import { CONTAINER_TEST_IMAGE, containerEngineReady, containersLabelled } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** The built `corral` command of this repository. */
export const CORRAL_BIN = resolve(ROOT, "apps/cli/dist/bin.js");

/** What an agent package says of itself; the rest is this repository's. */
export interface CorralAgentEndToEndOptions extends Omit<AgentEndToEndOptions, "startApi" | "sandboxes" | "isolation" | "corral"> {
  /** The agent package's folder (linked into the project for the `corral run` case). */
  packageDir: string;
  /** Its npm name (`@corral/agent-claude`). */
  packageName: string;
  /** The CLI's native binary, mounted where the test image's PATH finds `cli.command`; undefined: the containers' cases skip (fail in CI) with `containerUnavailable`. */
  containerBinary: string | undefined;
  /** Why `containerBinary` is missing. */
  containerUnavailable?: string;
  /** Instead of `containerBinary`: what shows the CLI in the test image (e.g. Node, its libraries and a `gemini` shim). */
  containerMounts?: Mount[];
  /** Which container engines to run in (default both); `[]` where the CLI cannot run in the test image. */
  engines?: Array<"docker" | "podman">;
  /** Extra `corral run` flags (`--model ...`) and env for the `corral run` case. */
  corralArgs?: string[];
  corralEnv?: (api: EndToEndApi) => Record<string, string>;
}

/** The sandboxes an agent's real CLI runs in here: bwrap (the CLI from node_modules, read-only), docker and podman (its native binary mounted). */
export function corralSandboxes(options: Pick<CorralAgentEndToEndOptions, "packageDir" | "cli" | "containerBinary" | "containerMounts" | "containerUnavailable" | "engines">): EndToEndSandbox[] {
  // The CLI lives under the package's and the repository's node_modules, which bwrap does not show by default.
  const nodeModules = [resolve(options.packageDir, "node_modules"), resolve(ROOT, "node_modules")].map((host) => ({ host, readonly: true }));
  const bwrapTarget: EndToEndSandbox = {
    name: "bwrap",
    sandbox: () => bwrap(),
    unavailable: async () => {
      const check = await bwrapSandbox.create(bwrapSandbox.configure({}).options).check();
      return check.available ? undefined : `bwrap is not usable here: ${check.reason}`;
    },
    mounts: nodeModules,
    networkPolicy: true,
    findsInstalledCli: true,
  };
  const containers = (options.engines ?? (["docker", "podman"] as const)).map(
    (engine): EndToEndSandbox => ({
      name: engine,
      sandbox: () => (engine === "docker" ? docker({ image: CONTAINER_TEST_IMAGE }) : podman({ image: CONTAINER_TEST_IMAGE })),
      unavailable: async () => {
        if (!options.containerBinary && !options.containerMounts) return options.containerUnavailable ?? `the ${options.cli.command} native binary is not installed`;
        const ready = await containerEngineReady(engine);
        return ready.ready ? undefined : ready.reason;
      },
      // The test image has no Node and no agent CLI: the native binary is mounted where a global install puts it.
      mounts: options.containerMounts ?? (options.containerBinary ? [{ host: options.containerBinary, sandbox: `/usr/local/bin/${options.cli.command}` }] : []),
      path: "/usr/local/bin:/usr/bin:/bin",
      // A container's /tmp is its own tmpfs: keep the repo, its worktree and the run's HOME off it.
      tmpdir: resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp"),
      ownPidNamespace: true,
      leftovers: (runId) => containersLabelled(engine, `corral.run=${runId}`),
    }),
  );
  return [bwrapTarget, ...containers];
}

/** The agent end-to-end kit over this repository's mock API, sandboxes and `corral` command. */
export function describeCorralAgentEndToEnd(options: CorralAgentEndToEndOptions): void {
  const { packageDir, packageName, containerBinary, containerMounts, containerUnavailable, engines, corralArgs, corralEnv, ...agent } = options;
  describeAgentEndToEnd({
    ...agent,
    startApi: (api) => startMockModelApi(api),
    sandboxes: corralSandboxes({ packageDir, cli: agent.cli, containerBinary, ...(containerMounts ? { containerMounts } : {}), ...(containerUnavailable ? { containerUnavailable } : {}), ...(engines ? { engines } : {}) }),
    isolation: () => worktree(),
    corral: {
      argv: ["node", CORRAL_BIN],
      packageDir,
      packageName,
      unavailable: existsSync(CORRAL_BIN) && existsSync(resolve(packageDir, "dist/index.js")) ? undefined : "the corral CLI or this package is not built (run pnpm build)", ...(corralArgs ? { args: corralArgs } : {}), ...(corralEnv ? { env: corralEnv } : {}),
    },
  });
}
