import { join } from "node:path";
import { mkdir, rm, stat } from "node:fs/promises";
import { defineSandbox, packageVersion, SandboxError, SandboxUnavailableError, type Sandbox, type SandboxSpec } from "@corral/core";
import { runTempDir } from "@corral/core/plugin-kit";
import { resolveHostPath, sandboxArgs, SYSTEM_PATHS } from "./args.js";
import { bwrapCapabilities, COPY_ROOT, findSocat, insideWrapper } from "./egress.js";
import { probeBwrap } from "./check.js";
import { BwrapSandboxHandle } from "./handle.js";
import { chooseLimitStrategy, type AppliedLimits } from "./limits.js";
import { bwrapOptions, defaultLimits, type BwrapOptions, type BwrapOptionsInput } from "./options.js";
import { hostSeccompProgram } from "./seccomp.js";

let nextId = 0;

/** The bwrap Sandbox: its handles are BwrapSandboxHandles (they report the limits in force). */
export interface BwrapSandbox extends Sandbox {
  /** Starts a sandbox for `spec` (`Sandbox.create`): checks bwrap (fail closed) and the spec's folders, and puts the limits in force. */
  create(spec: SandboxSpec): Promise<BwrapSandboxHandle>;
}

function makeSandbox(options: BwrapOptions): BwrapSandbox {
  return {
    name: "bwrap",
    // Read when a run starts: what this machine allows (socat installed or not). Host programs run
    // inside: the run shows the agent's program (and its node) read-only where the system folders
    // and same-path mounts do not show it already.
    get capabilities() {
      // attach drops --new-session; without the seccomp filter nothing would keep TIOCSTI out of the caller's terminal.
      const sameplace = options.mounts.filter((mount) => mount.sandbox === undefined).map((mount) => resolveHostPath(mount.host));
      return { ...bwrapCapabilities(), hostPrograms: { shared: [...SYSTEM_PATHS, ...sameplace] }, attach: options.seccomp || !options.newSession };
    },
    check: () => probeBwrap(options).then(({ bwrap: _bwrap, ...availability }) => availability),
    create: (spec) => createSandbox(spec, options),
  };
}

/** The `bwrap` sandbox plugin: bubblewrap namespaces, no image, no daemon (Linux). */
export const bwrapSandbox = defineSandbox({
  name: "bwrap",
  version: packageVersion(import.meta.url),
  packageName: "@corral/sandbox-bwrap",
  description: "bubblewrap namespaces: no image, no daemon (Linux)",
  options: bwrapOptions,
  create: makeSandbox,
});

/** `run({ sandbox: bwrap({ readPolicy: "minimal" }) })` */
export const bwrap = (options?: BwrapOptionsInput) => bwrapSandbox.configure(options);

/** A ready bwrap Sandbox without the run loop (validated options), for direct use and tests. */
export const createBwrapSandbox = (options?: BwrapOptionsInput): BwrapSandbox => makeSandbox(bwrapSandbox.configure(options).options);

async function createSandbox(spec: SandboxSpec, options: BwrapOptions): Promise<BwrapSandboxHandle> {
  // Fail closed even when the caller skipped check().
  const availability = await probeBwrap(options);
  if (!availability.available) throw new SandboxUnavailableError("bwrap", availability.reason, availability.hint ? { hint: availability.hint } : {});
  if (spec.workspace.copy && !spec.workspace.path.startsWith(`${COPY_ROOT}/`)) {
    throw new SandboxError(`A copied workspace must be under ${COPY_ROOT}, not ${spec.workspace.path}.`, { code: "E_SANDBOX_SPEC", hint: "Take the path from the sandbox's capabilities.copiedWorkspace.root." });
  }
  const hostPaths: ReadonlyArray<readonly [string, string]> = spec.workspace.copy ? [["HOME", spec.home]] : [["workspace", spec.workspace.path], ["working directory", spec.workspace.cwd], ["HOME", spec.home]];
  for (const [what, path] of hostPaths) {
    if (!(await stat(path).catch(() => undefined))?.isDirectory()) {
      throw new SandboxError(`The ${what} ${path} does not exist.`, { code: "E_SANDBOX_SPEC", hint: "This is a bug in the isolation or the caller: the folder must exist before the sandbox is created." });
    }
  }
  const id = `bwrap-${spec.runId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40)}-${process.pid}-${++nextId}`;
  const plan = await chooseLimitStrategy(spec.limits, { strategy: options.limitStrategy, bestEffort: options.bestEffortLimits, defaults: defaultLimits(options) });
  const seccomp = options.seccomp ? hostSeccompProgram().program : undefined;
  // Named by run id and private (0700), so `corral clean` finds it if the run is killed.
  const tmpDir = await runTempDir("bwrap", spec.runId);
  let applied: AppliedLimits | undefined;
  try {
    // The copied workspace's root: a private folder in the sandbox's own /tmp.
    if (spec.workspace.copy) await mkdir(join(tmpDir, COPY_ROOT.slice("/tmp/".length)), { mode: 0o700 });
    const args = sandboxArgs(spec, options, tmpDir);
    const prefix = insideWrapper(typeof spec.network === "object" && spec.network.mode === "proxy" ? { network: spec.network, socat: findSocat() } : undefined);
    if (plan && Object.keys(plan.limits).length > 0) {
      const inForce = await plan.strategy.apply(plan.limits, id, plan.enforces);
      applied = { ...inForce, enforced: inForce.enforced.filter((name) => plan.limits[name] !== undefined) };
    }
    return new BwrapSandboxHandle({
      id,
      spec,
      bwrap: availability.bwrap!,
      args,
      prefix,
      tmpDir,
      ...(seccomp ? { seccomp } : {}),
      ...(applied ? { applied } : {}),
      notEnforced: plan?.notEnforced ?? [],
      defaults: plan?.defaults ?? [],
    });
  } catch (error) {
    await applied?.release().catch(() => {});
    await rm(tmpDir, { recursive: true, force: true });
    throw error;
  }
}

export default bwrapSandbox;
export { BwrapSandboxHandle, type LimitsInForce } from "./handle.js";
export { bwrapOptions, LIMIT_STRATEGIES, type BwrapOptions, type BwrapOptionsInput, type LimitStrategyName } from "./options.js";
export { DEFAULT_LIMITS } from "./options.js";
export { detectLimitStrategies, chooseLimitStrategy, type LimitName, type LimitPlan, type LimitStrategyReport } from "./limits.js";
export { sandboxArgs, isolationArgs } from "./args.js";
export { SECCOMP_RULES, seccompProgram, type SeccompArch, type SeccompRule } from "./seccomp.js";
