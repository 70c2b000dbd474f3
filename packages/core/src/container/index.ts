/**
 * @corral/core/container — what the docker and podman sandboxes share, written once and
 * engine-agnostic: the options schema, the container plan (hardening, limits, labels, env),
 * the mounts, the exec wrapper that makes in-container processes killable, orphan detection
 * and build-output scanning. No engine client here; each plugin brings its own.
 */
export { containerOptions, containerOptionsShape } from "./options.js";
export type { ContainerOptions, ContainerOptionsInput } from "./options.js";
export { planContainer, containerName } from "./plan.js";
export type { ContainerPlan, PlanContext } from "./plan.js";
export { planMounts, resolveHostPath } from "./mounts.js";
export type { BindMount } from "./mounts.js";
export { LABELS, containerLabels, currentOrchestrator, judgeOrphan } from "./labels.js";
export type { Orchestrator, OrphanVerdict } from "./labels.js";
export { wrapExec, killExecArgv, execStatus, watchExec } from "./exec.js";
export type { ExecStopper } from "./exec.js";
export { buildLineError, buildMessageError, defaultImageTag, hostBuildArgs } from "./build.js";
export type { BuildImageOptions } from "./build.js";
export { imageMissingError, engineUnavailable, networkUnavailableError } from "./errors.js";
export type { ReapOptions, ReapResult, ReapedContainer } from "./reap.js";
