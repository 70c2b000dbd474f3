/**
 * @corral/container — what the docker and podman sandboxes share, written once and engine-agnostic:
 * the options schema, the container plan (hardening, limits, labels, env), the mounts, the keeper
 * (the container ends with its orchestrator), how the agent's processes are stopped and swept, the
 * host's view of a container's cgroup, orphan detection and build-output scanning. No engine client
 * here; each plugin brings its own. Outside core, so a change here releases only the container
 * plugins (docs/adr/0407-container-policy-is-its-own-package.md).
 */
export { containerOptions, containerOptionsShape } from "./options.js";
export type { ContainerOptions, ContainerOptionsInput } from "./options.js";
export { planContainer, containerName } from "./plan.js";
export type { ContainerPlan, PlanContext } from "./plan.js";
export { planMounts } from "./mounts.js";
export type { BindMount } from "./mounts.js";
export { LABELS, containerLabels, currentOrchestrator, judgeOrphan } from "./labels.js";
export type { Orchestrator, OrphanVerdict } from "./labels.js";
export { endedAtWallClock, execStatus, wallClockDeadline } from "./exec.js";
export { AgentProcesses, sweepArgv } from "./processes.js";
export type { AgentProcessesOptions, ExecWatch, SweepSignal } from "./processes.js";
export { KEEPER_READY, keeperCommand, keeperUser } from "./keeper.js";
export { agentLeftInTop, ContainerCgroup, remoteCgroupReader, TOP_PS_ARGS, type CgroupProcess, type CgroupReader } from "./cgroup.js";
export { agentIdentity } from "./identity.js";
export { withoutUserNamespaces } from "./seccomp.js";
export type { SeccompProfile } from "./seccomp.js";
export { buildLineError, buildMessageError, DEFAULT_IMAGE, hostBuildArgs } from "./build.js";
export { engineLostError, engineUnavailable, imageMissingError, imageRemoveError, networkUnavailableError } from "./errors.js";
export { reapedContainers } from "./reap.js";
export type { ContainerReapResult, ReapedContainer } from "./reap.js";
export { EgressBridge } from "./egress.js";
export { COPY_ROOT, checkCopyPath, copiedWorkspaceCapability, getArchiveArgv, putArchiveArgv } from "./copy.js";
export { SshConnection, engineTrustError, hostKeyVerifier, sshConnectConfig, sshTrustFailure } from "./ssh.js";
export type { SshOptions } from "./ssh.js";
export { homeEntries, refuseHostPaths, remotePlan, shipRunHome } from "./remote.js";
