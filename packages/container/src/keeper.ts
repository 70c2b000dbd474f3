/**
 * The keeper is the container's main process (under the engine's init): a dead-man's switch. It
 * waits on its stdin, which stays attached to the orchestrator for the whole run, so when the
 * orchestrator goes away — close(), a crash, a second Ctrl-C, SIGKILL — its connection closes, the
 * keeper reads EOF and exits, PID 1 exits, the kernel kills everything left in the container and
 * the engine removes it (--rm). No container keeps running an agent without its orchestrator.
 * With a wall-clock limit the keeper also ends itself then.
 *
 * It runs as a user other than the agent's, so the agent cannot signal, trace or feed it, and the
 * sweeps that stop the agent (processes.ts) leave it alone.
 */

/** What the keeper prints once it runs: the container is up. */
export const KEEPER_READY = "corral: keeper ready";

/** The keeper's argv (needs only `/bin/sh` and `sleep`, the image contract). */
export function keeperCommand(wallSeconds?: number): string[] {
  return ["/bin/sh", "-c", `echo '${KEEPER_READY}'; { sleep "$0"; kill $$; } & read -r _`, wallSeconds === undefined ? "infinity" : String(Math.ceil(wallSeconds))];
}

/** The user the keeper runs as: never the agent's (`nobody`, or root when the agent is nobody). */
export function keeperUser(agentUser: string): string {
  const uid = agentUser.split(":")[0];
  return uid === "65534" || uid === "nobody" ? "0:0" : "65534:65534";
}
